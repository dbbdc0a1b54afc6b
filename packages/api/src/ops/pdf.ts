/**
 * Prints HTML to PDF with headless Chromium (Debian package `chromium`): the PDF is the same HTML the
 * HTML report serves. Each print uses a fresh temporary profile and directory, removed afterwards.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KumoError } from '@kumo/runtime';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

const DIRS = ['/usr/bin', '/usr/local/bin', '/snap/bin'];

/** The first Chromium in the usual system directories (Debian: /usr/bin/chromium); null when there is none. */
export async function findChromium(dirs: readonly string[] = DIRS): Promise<string | null> {
  for (const n of NAMES) {
    for (const d of dirs) {
      const p = join(d, n);
      try {
        await access(p, constants.X_OK);
        return p;
      } catch {
        // next
      }
    }
  }
  return null;
}

export async function htmlToPdf(html: string, o: { chromium?: string; timeoutMs?: number } = {}): Promise<Buffer> {
  const bin = o.chromium ?? (await findChromium());
  if (bin === null) throw new KumoError('KUMO_ERR_UNAVAILABLE', 'PDF output needs Chromium (Debian: apt-get install chromium); HTML and CSV work without it');
  const dir = await mkdtemp(join(tmpdir(), 'kumo-pdf-'));
  try {
    const htmlPath = join(dir, 'report.html');
    const pdfPath = join(dir, 'report.pdf');
    await writeFile(htmlPath, html, 'utf8');
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions',
      '--no-pdf-header-footer', '--run-all-compositor-stages-before-draw', `--user-data-dir=${join(dir, 'profile')}`,
      `--print-to-pdf=${pdfPath}`, pathToFileURL(htmlPath).href,
    ];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => {
        if (stderr.length < 4000) stderr += b.toString();
      });
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        reject(new KumoError('KUMO_ERR_UNAVAILABLE', 'Chromium did not print the PDF in time'));
      }, o.timeoutMs ?? 60_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new KumoError('KUMO_ERR_UNAVAILABLE', `could not start Chromium: ${e.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new KumoError('KUMO_ERR_UNAVAILABLE', `Chromium exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      });
    });
    const pdf = await readFile(pdfPath);
    if (pdf.subarray(0, 5).toString() !== '%PDF-') throw new KumoError('KUMO_ERR_UNAVAILABLE', 'Chromium produced no PDF');
    return pdf;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
