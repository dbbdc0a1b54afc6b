export function runCli(argv: readonly string[]): Promise<number> {
  const [cmd] = argv;
  switch (cmd) {
    default:
      process.stderr.write(`usage: kumo <up|api|engine|sip|billing> …\n`);
      return Promise.resolve(cmd === undefined || cmd === 'help' || cmd === '--help' ? 0 : 2);
  }
}
