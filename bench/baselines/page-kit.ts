/*
 * What the two baseline pages (raw/page.ts, peerjs/page.ts) share besides their markup
 * (lib/baseline-page.ts): the elements they drive, and the receiving end of a file in data mode.
 * Harness plumbing, not the systems under test: each page keeps its own signaling, connection and
 * sending, written as its tutorial or documentation shows. Served as /page-kit.js.
 */

const $ = (selector: string): HTMLElement => document.querySelector<HTMLElement>(selector)!;

/** The page's elements (ids as in lib/baseline-page.ts) and its status line. */
export const ui = {
  localVideo: $('#local') as HTMLVideoElement,
  remoteVideo: $('[data-testid="remote-video"]') as HTMLVideoElement,
  callButton: $('#call') as HTMLButtonElement,
  acceptButton: $('#accept') as HTMLButtonElement,
  status: (text: string): void => {
    $('#status').textContent = text;
  },
};

/**
 * The receiver of a file (data mode): `start(size)` marks the clock's start ("accept") and asks the
 * sender with "go"; every piece is kept until `size` bytes are in, then the Blob becomes the page's
 * `__bench.blob` (checked against the sender's SHA-256 afterwards), "done" is marked and answered.
 * No hashing, no acks, no progress. `send` is the page's own way to send a text message.
 */
export class FileReceiver {
  private expected = 0;
  private received = 0;
  private parts: Array<ArrayBuffer | ArrayBufferView<ArrayBuffer>> = [];

  constructor(private readonly send: (text: string) => void) {}

  start(size: number): void {
    this.expected = size;
    window.__bench.mark('accept');
    this.send('go');
  }

  receive(data: ArrayBuffer | ArrayBufferView<ArrayBuffer>): void {
    this.parts.push(data);
    this.received += data.byteLength;
    if (this.received < this.expected) {
      return;
    }
    const file = new Blob(this.parts);
    this.parts = [];
    window.__bench.blob = file;
    window.__bench.mark('done');
    this.send('done');
  }
}
