import { describe, expect, it } from 'vitest';
import { parseCSeq, parseUInt, unquote, quote, isToken } from './grammar.js';
import { headerKey, prettyHeaderName, splitHeaderValues, SipHeaders } from './headers.js';
import { parseNameAddr, parseNameAddrList, formatNameAddr } from './nameaddr.js';
import { formatUri, parseUri, unescapeUri } from './uri.js';
import { formatVia, parseVia } from './via.js';

describe('headerKey / compact forms', () => {
  it.each([
    ['i', 'call-id'], ['I', 'call-id'], ['m', 'contact'], ['e', 'content-encoding'], ['l', 'content-length'],
    ['c', 'content-type'], ['f', 'from'], ['s', 'subject'], ['k', 'supported'], ['t', 'to'], ['v', 'via'],
    ['o', 'event'], ['u', 'allow-events'], ['r', 'refer-to'], ['b', 'referred-by'], ['x', 'session-expires'],
    ['y', 'identity'], ['Call-ID', 'call-id'], ['VIA', 'via'], ['X-Custom', 'x-custom'], ['z', 'z'],
  ])('%s → %s', (name, key) => expect(headerKey(name)).toBe(key));

  it.each([
    ['i', 'Call-ID'], ['cseq', 'CSeq'], ['www-authenticate', 'WWW-Authenticate'], ['max-forwards', 'Max-Forwards'],
    ['v', 'Via'], ['x-foo-bar', 'X-Foo-Bar'],
  ])('pretty %s → %s', (name, pretty) => expect(prettyHeaderName(name)).toBe(pretty));
});

describe('splitHeaderValues', () => {
  it.each<[string, string[]]>([
    ['a, b ,c', ['a', 'b', 'c']],
    ['"Doe, John" <sip:a@b>, <sip:c@d;x=1,2>', ['"Doe, John" <sip:a@b>', '<sip:c@d;x=1,2>']],
    ['"a \\" , b" <sip:x@y>, sip:z@w', ['"a \\" , b" <sip:x@y>', 'sip:z@w']],
    [',,a,,', ['a']],
    ['', []],
  ])('%j', (v, parts) => expect(splitHeaderValues(v)).toEqual(parts));
});

describe('numbers', () => {
  it.each<[string, number | undefined]>([
    ['0', 0], ['0068', 68], ['2147483647', 2147483647], ['2147483648', undefined], ['-1', undefined],
    ['', undefined], ['1a', undefined], ['00000000000000000070', 70], ['99999999999999999999', undefined],
  ])('parseUInt(%j) = %j', (v, n) => expect(parseUInt(v)).toBe(n));

  it.each<[string, ReturnType<typeof parseCSeq>]>([
    ['1 INVITE', { seq: 1, method: 'INVITE' }],
    ['  0009   INVITE ', { seq: 9, method: 'INVITE' }],
    ['1INVITE', undefined],
    ['INVITE', undefined],
    ['1 INVITE x', undefined],
    ['36893488147419103232 REGISTER', undefined],
    ['2147483647 BYE', { seq: 2147483647, method: 'BYE' }],
  ])('parseCSeq(%j)', (v, r) => expect(parseCSeq(v)).toEqual(r));
});

describe('quoted strings and tokens', () => {
  it.each([
    ['"abc"', 'abc'], ['"a\\"b"', 'a"b'], ['"a\\\\b"', 'a\\b'], ['plain', 'plain'], ['"', '"'],
  ])('unquote(%j) = %j', (q, u) => expect(unquote(q)).toBe(u));
  it('quote round-trips', () => {
    for (const s of ['x', 'a"b', 'back\\slash', 'Jürgen "J" Müller']) expect(unquote(quote(s))).toBe(s);
  });
  it.each([
    ['INVITE', true], ["!interesting-Method0123456789_*+`.%indeed'~", true], ['a b', false], ['', false], ['a:b', false],
  ])('isToken(%j) = %j', (t, ok) => expect(isToken(t)).toBe(ok));
});

describe('parseUri', () => {
  it.each<[string, Record<string, unknown>]>([
    ['sip:alice@example.com', { kind: 'sip', scheme: 'sip', user: 'alice', host: 'example.com', port: undefined }],
    ['SIPS:alice@Example.COM:5061', { kind: 'sip', scheme: 'sips', user: 'alice', host: 'Example.COM', port: 5061 }],
    ['sip:alice:secret@10.0.0.1:5060', { user: 'alice', password: 'secret', host: '10.0.0.1', port: 5060 }],
    ['sip:[2001:db8::1]:5070;transport=tcp', { host: '[2001:db8::1]', port: 5070 }],
    ['sip:[::ffff:192.0.2.2]', { host: '[::ffff:192.0.2.2]' }],
    ['sip:example.com', { user: undefined, host: 'example.com' }],
    ['sip:%61lice@example.com', { user: '%61lice' }],
    ['sip:+1-212@gw;user=phone', { user: '+1-212', host: 'gw' }],
    ['sip:*72#1001@pbx', { user: '*72#1001', host: 'pbx' }],
    ['tel:+1-212-555-0101;phone-context=example.com', { kind: 'tel', number: '+1-212-555-0101' }],
    ['mailto:someone@example.com', { kind: 'other', scheme: 'mailto', opaque: 'someone@example.com' }],
    ['soap.beep://192.0.2.103:3002', { kind: 'other', scheme: 'soap.beep' }],
    ['urn:service:sos', { kind: 'other', scheme: 'urn' }],
  ])('%s', (text, shape) => expect(parseUri(text)).toMatchObject(shape));

  it('keeps params (lower-case names, null without value) and headers', () => {
    const u = parseUri('sip:a@b;Transport=TCP;lr;maddr=1.2.3.4?Subject=hi&Priority=urgent');
    expect(u?.kind).toBe('sip');
    if (u?.kind !== 'sip') return;
    expect({ ...u.params }).toEqual({ transport: 'TCP', lr: null, maddr: '1.2.3.4' });
    expect(u.headers).toEqual([['Subject', 'hi'], ['Priority', 'urgent']]);
    expect(formatUri(u)).toBe('sip:a@b;transport=TCP;lr;maddr=1.2.3.4?Subject=hi&Priority=urgent');
  });

  it('a parameter named __proto__ is just a parameter', () => {
    const u = parseUri('sip:a@b;__proto__=x;constructor');
    expect(u?.kind === 'sip' && u.params.__proto__).toBe('x');
    expect(u?.kind === 'sip' && u.params.constructor).toBeNull();
  });

  it.each([
    '', 'sip:', 'sip:@host', 'sip:a@', 'sip:a@host:', 'sip:a@host:99999', 'sip:a@host:5x', 'sip:2001:db8::10',
    'sip:a@[2001:db8:::192.0.2.1]', 'sip:a@[2001:db8::1', 'sip:a b@host', 'sip:a@host;', 'sip:a@host;;lr',
    'sip:a@host;x=', 'sip:a@host?', 'sip:a@host?x', 'sip:a%zz@host', '<sip:a@b>', ' sip:a@b', 'sip:a@b ',
    '1sip:a@b', 'tel:', 'tel:12 34', 'foo:', 'sip:a@256.1.1.1', 'sip:a@-host', 'sip:a@ho/st',
  ])('rejects %j', (text) => expect(parseUri(text)).toBeUndefined());

  it.each([
    ['%75se%72', 'user'], ['I%20have%20spaces', 'I have spaces'], ['null-%00-null', 'null-\u0000-null'],
    ['%C3%BC', 'ü'], ['%FF', '\u00ff'], ['plain', 'plain'],
  ])('unescapeUri(%j)', (e, u) => expect(unescapeUri(e)).toBe(u));
  it.each(['%', '%4', '%zz'])('unescapeUri rejects %j', (e) => expect(unescapeUri(e)).toBeUndefined());
});

describe('parseVia', () => {
  it('reads sent-by, transport and params', () => {
    const [v] = parseVia('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport;received=10.0.0.1')!;
    expect(v).toMatchObject({
      protocolName: 'SIP', protocolVersion: '2.0', transport: 'UDP', host: '192.0.2.1', port: 5060,
      branch: 'z9hG4bK776', rport: null, received: '10.0.0.1',
    });
    expect(formatVia(v!)).toBe('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport;received=10.0.0.1');
  });

  it.each<[string, Record<string, unknown>[]]>([
    ['SIP/2.0/tcp host;rport=5062', [{ transport: 'TCP', host: 'host', rport: 5062 }]],
    ['SIP / 2.0 / UDP  host : 5070 ; branch = z9hG4bKx', [{ host: 'host', port: 5070, branch: 'z9hG4bKx' }]],
    ['SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9', [{ host: '[2001:db8::9:1]', port: 6050 }]],
    ['SIP/2.0/UDP a;branch=1, SIP/2.0/TCP b;branch=2', [{ host: 'a' }, { host: 'b', transport: 'TCP' }]],
    ['SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK', [{ transport: 'WSS', host: 'df7jal23ls0d.invalid' }]],
    ['SIP/2.0/UDP host;received=2001:db8::9:255', [{ received: '2001:db8::9:255' }]],
  ])('%s', (text, shape) => expect(parseVia(text)).toMatchObject(shape));

  it.each([
    '', 'SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP ', 'SIP/2.0/UDPhost', 'SIP/2.0/UDP host;', 'SIP/2.0/UDP host;;',
    'SIP/2.0/UDP 192.0.2.15;;,;,,', 'SIP/2.0/UDP host,', 'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP host;rport=x',
    'SIP/2.0/UDP host;branch', 'SIP/2.0/UDP host junk', 'SIP/2.0/UDP [::1',
    // ports outside 1–65535 can never be a destination (issue 11's poison input)
    'SIP/2.0/UDP host:0;branch=z9hG4bKp', 'SIP/2.0/UDP host:65536', 'SIP/2.0/UDP host;rport=0', 'SIP/2.0/UDP host;rport=65536',
    'SIP/2.0/UDP [::1]:0', 'SIP/2.0/UDP a:5060, SIP/2.0/UDP b:0',
  ])('rejects %j', (text) => expect(parseVia(text)).toBeUndefined());
});

describe('parseNameAddr', () => {
  it.each<[string, Record<string, unknown>]>([
    ['"Alice" <sip:alice@a.com>;tag=1', { displayName: 'Alice', uriText: 'sip:alice@a.com', bracketed: true, tag: '1' }],
    ['Alice Smith <sip:alice@a.com>', { displayName: 'Alice Smith', bracketed: true }],
    ['caller<sip:caller@example.com>;tag=323', { displayName: 'caller', tag: '323' }],
    ['<sip:alice@a.com;transport=tcp>;expires=60', { displayName: undefined, uriText: 'sip:alice@a.com;transport=tcp' }],
    ['sip:alice@a.com;tag=9', { bracketed: false, uriText: 'sip:alice@a.com', tag: '9' }],
    ['sip:+1972@gw1;unknownparam', { uriText: 'sip:+1972@gw1' }],
    ['"J \\"R\\"" <sip:j@x>', { displayName: 'J "R"' }],
    ['"" <sip:j@x>', { displayName: '' }],
    ['"Jürgen" <sip:j@x>', { displayName: 'Jürgen' }],
    ['Jürgen <sip:j@x>', { displayName: 'Jürgen' }],
    ['isbn:2983792873', { uri: { kind: 'other', scheme: 'isbn' } }],
    ['<sip:a@b> ; q = 0.5 ; tag = x ', { tag: 'x' }],
    ['<sip:a@b>;p="quoted;value"', { params: { p: '"quoted;value"' } }],
  ])('%s', (text, shape) => expect(parseNameAddr(text)).toMatchObject(shape));

  it.each([
    '', '<sip:a@b', '< sip:a@b >', '"unterminated <sip:a@b>', 'Bell, Alexander <sip:a@b>', 'sip:a@b?x=y',
    '<sip:a@b>;;;;', '<sip:a@b>;tag', '<sip:a@b> junk', '"x" sip:a@b', 'sip:a@b,c', '<>',
  ])('rejects %j', (text) => expect(parseNameAddr(text)).toBeUndefined());

  it('lists', () => {
    expect(parseNameAddrList(['<sip:a@b>, "X, Y" <sip:c@d>', '<sip:e@f;lr>'])?.map((n) => n.uriText)).toEqual([
      'sip:a@b', 'sip:c@d', 'sip:e@f;lr',
    ]);
    expect(parseNameAddrList(['<sip:a@b>, bad<']) ).toBeUndefined();
    expect(parseNameAddrList([])).toEqual([]);
  });

  it('formats', () => {
    expect(formatNameAddr(parseNameAddr('Alice <sip:a@b>;tag=1')!)).toBe('Alice <sip:a@b>;tag=1');
    expect(formatNameAddr(parseNameAddr('"A, B" <sip:a@b>')!)).toBe('"A, B" <sip:a@b>');
    expect(formatNameAddr(parseNameAddr('sip:a@b;tag=2')!)).toBe('<sip:a@b>;tag=2');
  });
});

describe('SipHeaders', () => {
  it('keeps order, looks up case-insensitively with compact forms, edits', () => {
    const h = new SipHeaders([['v', 'SIP/2.0/UDP a'], ['Via', 'SIP/2.0/UDP b'], ['i', 'x@y'], ['Supported', 'a, b']]);
    expect(h.get('VIA')).toBe('SIP/2.0/UDP a');
    expect(h.getAll('via')).toEqual(['SIP/2.0/UDP a', 'SIP/2.0/UDP b']);
    expect(h.get('Call-ID')).toBe('x@y');
    expect(h.values('k')).toEqual(['a', 'b']);
    const rev = h.rev;
    h.prepend('Via', 'SIP/2.0/TCP top');
    expect(h.fields()[0]?.value).toBe('SIP/2.0/TCP top');
    expect(h.removeFirst('v')?.value).toBe('SIP/2.0/TCP top');
    h.set('call-id', 'new');
    expect(h.fields().map((f) => f.name)).toEqual(['v', 'Via', 'call-id', 'Supported']);
    expect(h.remove('via')).toBe(2);
    expect(h.replaceAt('supported', 0, 'c')).toBe(true);
    expect(h.replaceAt('supported', 1, 'c')).toBe(false);
    h.append('X-A', '1');
    expect(h.count('x-a')).toBe(1);
    expect(h.rev).toBeGreaterThan(rev);
    const c = h.clone();
    c.set('X-A', '2');
    expect(h.get('x-a')).toBe('1');
  });
});
