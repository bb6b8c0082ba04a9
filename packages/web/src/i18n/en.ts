import type { DuetErrorReason, MediaErrorReason } from '@duet/rtc';

/**
 * English messages, the source of truth for the message shape: every other locale is typed as
 * `Messages` and must provide exactly these keys.
 *
 * vue-i18n syntax: `{name}` interpolates; `@`, `|`, `{` and `}` are special, so plain text avoids them.
 * The e2e tests rely on some of these strings verbatim (notices, button names): change them together.
 */
const en = {
  app: {
    name: 'Duet',
    tagline: 'Private one-to-one calls',
    main: 'Main content',
  },
  language: {
    label: 'Language',
  },
  lobby: {
    heading: 'Start a call',
    intro:
      'Pick a room name, share the link, and talk face to face. Audio and video go directly between you.',
    room: 'Room',
    roomHint: 'Anyone who knows the room name can join it.',
    name: 'Your name',
    nameHint: 'Shown to the other people in the room.',
    join: 'Join',
    joining: 'Joining…',
    roomRequired: 'Enter a room name.',
    nameRequired: 'Enter your name.',
    insecureTitle: 'Camera and microphone are blocked on this connection',
    insecureBody:
      'Browsers only give camera and microphone access to secure pages. Open Duet over HTTPS, or on localhost on this computer.',
    unreachableTitle: 'Cannot reach the Duet server',
    unreachableBody: 'Check your network connection. Duet keeps trying in the background.',
    retry: 'Try again',
    connecting: 'Connecting to the server…',
  },
  blocked: {
    versionTitle: 'Duet was updated',
    versionBody: 'This page is older than the server it talks to. Reload to get the current version.',
    reload: 'Reload',
  },
  banner: {
    reconnecting: 'Connection to the server lost. Reconnecting…',
    disconnected: 'Disconnected from the server.',
    retry: 'Reconnect',
  },
  room: {
    eyebrow: 'Room',
    copyInvite: 'Copy invite link',
    inviteCopied: 'Invite link copied.',
    inviteCopyFailed: 'Could not copy the link. Copy it from here: {link}',
    leave: 'Leave room',
    peopleHeading: 'People',
    peopleList: 'People in this room',
    count: '{count} of {capacity}',
    you: '(you)',
    free: 'Free',
    inCall: 'In a call',
    call: 'Call {name}',
    audioOnly: 'Audio only',
    audioOnlyHint: 'Call without video.',
    alone: 'Nobody else is here yet. Send the invite link to the person you want to call.',
    previewHeading: 'Your camera and microphone',
    previewOff: 'Camera off',
    previewStarting: 'Starting camera…',
    startPreview: 'Turn on camera and microphone',
    tryAgain: 'Try again',
  },
  devices: {
    microphone: 'Microphone',
    camera: 'Camera',
    unnamedMicrophone: 'Microphone {n}',
    unnamedCamera: 'Camera {n}',
    noMicrophone: 'No microphone found',
    noCamera: 'No camera found',
    settingsHeading: 'Devices',
  },
  controls: {
    group: 'Call controls',
    mute: 'Mute microphone',
    unmute: 'Unmute microphone',
    cameraOff: 'Turn camera off',
    cameraOn: 'Turn camera on',
    share: 'Share screen',
    stopShare: 'Stop sharing',
    settings: 'Settings',
    hangUp: 'Hang up',
    statistics: 'Statistics',
    close: 'Close',
  },
  outgoing: {
    calling: 'Calling {name}…',
    video: 'Video call',
    audio: 'Audio call',
    cancel: 'Cancel',
  },
  incoming: {
    label: 'Incoming call',
    calling: '{name} is calling',
    callingAudio: '{name} is calling (audio only)',
    accept: 'Accept',
    decline: 'Decline',
  },
  call: {
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    withPeer: 'Call with {name}',
    duration: 'Call duration',
    remoteMuted: 'Microphone muted',
    remoteCameraOff: 'Camera off',
    remoteSharing: 'Sharing screen',
    you: 'You',
    youCameraOff: 'Your camera is off',
    youSharing: 'You are sharing your screen',
    quality: 'Connection quality: {quality}',
    qualityGood: 'good',
    qualityFair: 'fair',
    qualityPoor: 'poor',
    qualityUnknown: 'measuring',
    soundBlocked: 'Your browser paused the call audio.',
    enableSound: 'Turn on sound',
  },
  stats: {
    heading: 'Connection statistics',
    path: 'Path',
    direct: 'Direct',
    relay: 'Relayed (TURN)',
    pathPending: 'Not connected yet',
    candidates: 'Local {local}, remote {remote}',
    receiving: 'Receiving',
    sending: 'Sending',
    rtt: 'Round-trip time',
    loss: 'Packet loss',
    jitter: 'Jitter',
    fps: 'Frame rate',
    resolution: 'Resolution',
    unavailable: '–',
    kbps: '{value} kbit/s',
    mbps: '{value} Mbit/s',
    ms: '{value} ms',
    percent: '{value} %',
    fpsValue: '{value} fps',
    resolutionValue: '{width} × {height}',
    chart: '{metric} over the last minute',
    waiting: 'Collecting statistics…',
  },
  notices: {
    region: 'Notifications',
    dismiss: 'Dismiss',
    declined: '{name} declined the call.',
    youDeclined: 'Call declined.',
    busy: '{name} is busy in another call.',
    noAnswer: '{name} did not answer.',
    hungUp: '{name} hung up.',
    callEnded: 'Call ended.',
    peerLeft: '{name} left the call.',
    cancelled: 'Call cancelled.',
    cancelledByPeer: 'Call cancelled. Missed call from {name}.',
    missed: 'Missed call from {name}.',
    failed: 'The connection to {name} failed and the call ended.',
    userGone: '{name} is no longer in this room.',
    sessionRestored: 'Reconnected. You are back in the room.',
    reconnected: 'Reconnected to the server.',
    joinInvalid: 'Enter a room name and a display name.',
    joinTooLong: 'Room names and display names can be at most {max} characters.',
    generic: 'Something went wrong ({code}).',
  },
  /** One message per failure reason: the fallback whenever no more specific message applies. */
  errors: {
    // Protocol error codes (packages/protocol/src/errors.ts).
    unsupported_protocol_version: 'This page is out of date. Reload to get the current version of Duet.',
    origin_not_allowed: 'This Duet server does not accept connections from this address.',
    too_many_connections: 'Too many connections from your network. Close other Duet tabs and try again.',
    server_shutting_down: 'The server is restarting. Duet reconnects in a moment.',
    invalid_payload: 'The server could not accept that request.',
    payload_too_large: 'That text is too long.',
    unknown_event: 'The server did not understand this version of Duet. Reload the page.',
    ack_required: 'The server did not understand this version of Duet. Reload the page.',
    rate_limited: 'Too many actions at once. Wait a moment and try again.',
    not_in_room: 'You are no longer in the room. Join it again.',
    already_in_room: 'You are already in a room.',
    room_full: 'This room is full.',
    session_expired: 'Your session expired. Join the room again.',
    user_not_found: 'That person is no longer in this room.',
    cannot_call_self: 'You cannot call yourself.',
    already_in_call: 'You are already in a call.',
    busy: 'The other person is busy in another call.',
    call_not_found: 'That call has already ended.',
    invalid_call_state: 'The call changed before your action arrived.',
    not_in_call: 'You are not in that call any more.',
    forged_sender: 'The server refused a message from this page. Reload the page.',
    internal_error: 'The server ran into a problem. Try again.',
    // Media (getUserMedia / getDisplayMedia).
    permission_denied: 'Camera and microphone access was denied.',
    no_device: 'No camera or microphone was found.',
    device_busy: 'Your camera or microphone is being used by another application.',
    insecure_context: 'Camera and microphone need a secure connection (HTTPS or localhost).',
    overconstrained: 'The selected camera or microphone is no longer available.',
    screen_share_denied: 'Screen sharing was cancelled or blocked.',
    unsupported: 'Your browser does not support this.',
    unknown: 'Something went wrong. Try again.',
    // Connection.
    server_unreachable: 'Cannot reach the Duet server. Check your connection.',
    connection_failed: 'The connection to the other person failed and could not be restored.',
    timeout: 'The server did not answer in time. Try again.',
    session_replaced:
      'Duet was opened in another tab or window; this one is no longer connected. Reload to use it here.',
  } satisfies Record<DuetErrorReason, string>,
  /** What to do about a media failure, shown under the local preview. */
  mediaHints: {
    permission_denied:
      'Allow the camera and microphone for this site (the icon in the address bar, or the site settings), then try again.',
    no_device: 'Connect a camera or microphone, then try again. You can still join calls to listen.',
    device_busy: 'Close the other application (another call or recording app), then try again.',
    insecure_context: 'Open Duet over HTTPS, or on localhost.',
    overconstrained: 'Pick another device in the list.',
    screen_share_denied: 'Try again and choose a screen, window or tab to share.',
    unsupported: 'Use a current version of Chrome, Edge, Firefox or Safari.',
    unknown: 'Reload the page or try another device.',
  } satisfies Record<MediaErrorReason, string>,
};

/** The message shape every locale implements (string leaves, same keys as English). */
export type Messages = DeepStringLeaves<typeof en>;
type DeepStringLeaves<T> = { [K in keyof T]: T[K] extends string ? string : DeepStringLeaves<T[K]> };

/** Every message key as a dotted path (`'notices.busy'`), so code cannot name a missing message. */
export type MessageKey = Leaves<typeof en>;
type Leaves<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : Leaves<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

export default en satisfies Messages;
