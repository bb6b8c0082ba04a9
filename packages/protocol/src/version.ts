/**
 * The wire protocol version. A client sends it in the Socket.IO handshake (`auth.protocolVersion`);
 * the server refuses any other value with `unsupported_protocol_version`, so an old cached web app
 * gets a clear "please reload" instead of half-working against a newer server.
 */
export const PROTOCOL_VERSION = 1;
