import { randomBytes } from 'node:crypto';
import { SipHeaders, headerKey } from './headers.js';
import { SipResponse, type SipRequest } from './message.js';
import { parseNameAddr } from './nameaddr.js';
import type { PartialMessage } from './parser.js';
import type { HeaderField } from './types.js';

export interface ResponseOptions {
  /** To-tag to add when the request's To has none (ignored for 100 Trying). Default: a new random tag. */
  toTag?: string;
  /** Extra header fields, appended in order. */
  headers?: Iterable<readonly [string, string]>;
  body?: Buffer;
  /** Copy Record-Route fields (dialog-creating responses). Default false. */
  copyRecordRoute?: boolean;
}

const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  410: 'Gone', 412: 'Conditional Request Failed', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long',
  415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme', 417: 'Unknown Resource-Priority',
  420: 'Bad Extension', 421: 'Extension Required', 422: 'Session Interval Too Small', 423: 'Interval Too Brief',
  428: 'Use Identity Header', 429: 'Provide Referrer Identity', 430: 'Flow Failed', 433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info', 437: 'Unsupported Certificate', 438: 'Invalid Identity Header',
  439: 'First Hop Lacks Outbound Support', 440: 'Max-Breadth Exceeded', 469: 'Bad Info Package',
  470: 'Consent Needed', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected',
  483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 489: 'Bad Event', 491: 'Request Pending', 493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large', 555: 'Push Notification Service Not Supported',
  580: 'Precondition Failure',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable', 607: 'Unwanted',
  608: 'Rejected',
};

/** The standard reason phrase of a status code (`Unknown` class text when unlisted). */
export function reasonPhrase(status: number): string {
  const r = REASONS[status];
  if (r !== undefined) return r;
  if (status < 200) return 'Provisional';
  if (status < 300) return 'Success';
  if (status < 400) return 'Redirection';
  if (status < 500) return 'Client Error';
  if (status < 600) return 'Server Error';
  return 'Global Failure';
}

/** A random tag (token chars, 13 characters, like drachtio's). */
export function generateTag(): string {
  return randomBytes(10).toString('base64url').slice(0, 13);
}

/** A new RFC 3261 branch (`z9hG4bK` magic cookie + random). */
export function generateBranch(): string {
  return `z9hG4bK${randomBytes(12).toString('base64url')}`;
}

/**
 * Build a response to a request (RFC 3261 §8.2.6): copies every Via (in order), From, To, Call-ID and CSeq (as
 * written, with their original header names); adds a To-tag when To has none and the status is not 100.
 * With `copyRecordRoute`, Record-Route fields are copied too (for dialog-creating responses, §12.1.1).
 */
export function createResponse(req: SipRequest, status: number, reason?: string, opts?: ResponseOptions): SipResponse {
  const fields = copyCore(req.headers, status, opts, req.to?.tag !== undefined);
  const res = new SipResponse(status, reason ?? reasonPhrase(status), SipHeaders.fromFields(fields), opts?.body);
  return res;
}

/**
 * Build an error response from what a failed parse could read. Undefined when there is not enough to answer
 * (no Via, or the message was a response).
 */
export function createErrorResponse(
  partial: PartialMessage,
  status: number,
  reason?: string,
  opts?: ResponseOptions,
): SipResponse | undefined {
  if (partial.isResponse || !partial.headers.has('via')) return undefined;
  const toValue = partial.headers.get('to');
  const to = toValue === undefined ? undefined : parseNameAddr(toValue);
  // Absent or illegible To: copied as is, no tag added.
  const hasTag = to === undefined || to.tag !== undefined;
  const fields = copyCore(partial.headers, status, opts, hasTag);
  return new SipResponse(status, reason ?? reasonPhrase(status), SipHeaders.fromFields(fields), opts?.body);
}

function copyCore(h: SipHeaders, status: number, opts: ResponseOptions | undefined, toHasTag: boolean): HeaderField[] {
  const out: HeaderField[] = [];
  const rr = opts?.copyRecordRoute === true;
  for (const f of h) {
    switch (f.key) {
      case 'via':
      case 'from':
      case 'call-id':
      case 'cseq':
        out.push(f);
        break;
      case 'record-route':
        if (rr) out.push(f);
        break;
      case 'to':
        if (!toHasTag && status > 100) {
          out.push({ name: f.name, key: f.key, value: `${f.value};tag=${opts?.toTag ?? generateTag()}` });
        } else out.push(f);
        break;
      default:
        break;
    }
  }
  if (opts?.headers !== undefined) {
    for (const [name, value] of opts.headers) out.push({ name, key: headerKey(name), value });
  }
  return out;
}
