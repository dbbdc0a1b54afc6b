// sdp-transform ships no typings (and there is no @types package in the workspace): the two functions Kumo uses.
declare module 'sdp-transform' {
  export function parse(sdp: string): Record<string, unknown>;
  export function write(session: Record<string, unknown>): string;
  const sdpTransform: { parse: typeof parse; write: typeof write };
  export default sdpTransform;
}
