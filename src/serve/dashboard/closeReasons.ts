/** What a closed WebSocket means, in words an operator can act on (close codes: docs/protocol.md, RFC 6455). */
export function describeClose(code: number, everOpened: boolean): string {
  if (!everOpened) return 'the server cannot be reached';
  switch (code) {
    case 1000:
      return 'the server closed the connection';
    case 1001:
      return 'the server is shutting down or restarting';
    case 1009:
      return 'this page sent the server a message that was too large';
    case 1011:
      return 'the server ran into an error';
    case 1013:
      return 'the server has too many viewers right now';
    case 4008:
      return 'this page could not keep up with the video (slow network or busy computer)';
    default:
      return 'the connection to the server was lost';
  }
}
