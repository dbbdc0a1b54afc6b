import { describe, expect, it } from 'vitest';
import { FrameError, FrameReader, encodeFrame, splitFrame, splitPayload } from '../../src/control/framing.js';

describe('control framing', () => {
  it('reads coalesced frames and frames split anywhere, even inside the length', () => {
    const a = encodeFrame('id1|ping');
    const b = encodeFrame('id2|route|invite');
    const c = encodeFrame('id3|sip|t|\r\nSIP/2.0 200 OK\r\nX: é\r\n\r\n');
    const all = Buffer.from(a + b + c, 'utf8');
    for (let cut = 1; cut < all.length; cut++) {
      const r = new FrameReader();
      const out = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))];
      expect(out).toEqual(['id1|ping', 'id2|route|invite', 'id3|sip|t|\r\nSIP/2.0 200 OK\r\nX: é\r\n\r\n']);
      expect(r.buffered).toBe(0);
    }
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(encodeFrame('é')).toBe('2#é');
    expect(new FrameReader().push(Buffer.from('2#é3', 'utf8'))).toEqual(['é']);
  });

  it('accepts 5 length digits and rejects a 6th, like drachtio-server', () => {
    const p = 'x'.repeat(99999);
    expect(new FrameReader().push(Buffer.from(`99999#${p}`))).toEqual([p]);
    expect(() => new FrameReader().push(Buffer.from('100000#x'))).toThrow(FrameError);
  });

  it('rejects garbage and zero lengths', () => {
    expect(() => new FrameReader().push(Buffer.from('abc'))).toThrow(FrameError);
    expect(() => new FrameReader().push(Buffer.from('0#'))).toThrow(FrameError);
  });

  it('reads payloads as bytes (views, not decoded) and splits off the SIP message as bytes', () => {
    const sip = Buffer.concat([Buffer.from('SIP/2.0 200 OK\r\nX: é\r\n\r\n', 'utf8'), Buffer.from([0xff, 0xfe])]);
    const all = Buffer.concat([Buffer.from(encodeFrame('id1|ping')), Buffer.from(`${Buffer.byteLength('id3|sip|t|é|\r\n') + sip.length}#id3|sip|t|é|\r\n`), sip]);
    for (let cut = 1; cut < all.length; cut++) {
      const r = new FrameReader();
      const out = [...r.pushBytes(all.subarray(0, cut)), ...r.pushBytes(all.subarray(cut))];
      expect(out.map((b) => splitFrame(b))).toEqual([
        { tokens: ['id1', 'ping'], body: undefined },
        { tokens: ['id3', 'sip', 't', 'é', ''], body: sip },
      ]);
    }
    expect(splitFrame(Buffer.from('a|sip|\r\n'))).toEqual({ tokens: ['a', 'sip', ''], body: Buffer.alloc(0) });
  });

  it('splits the leader and keeps empty tokens', () => {
    expect(splitPayload('a|sip|t||\r\nBODY\r\n')).toEqual({ tokens: ['a', 'sip', 't', '', ''], body: 'BODY\r\n' });
    expect(splitPayload('a|ping')).toEqual({ tokens: ['a', 'ping'], body: undefined });
  });
});
