import type { TransferView } from './transfer-types.js';

/*
 * While a large file moves, the call's video goes out at a lower frame rate, and back to the
 * camera's rate when no large file moves any more.
 *
 * Why: on a small machine a video call and a file transfer fight for the same cores. Measured with
 * `npm run bench:transfer` (2 cores, 720p30 fake camera both ways): the two encoders and two decoders
 * take ~0.9 of the 2 cores, the transfer's SCTP/DTLS threads and each page's main thread (the UI,
 * the transfer loop) want the rest, and the file moves at a fraction of its audio-only speed. Half
 * the frames halve the encode and the peer's decode work; the picture stays live, and it is only
 * for as long as a large file moves. The bench's `--diagnose` row `duet-steady-video` measures the
 * same call without this, in the same run.
 */

/** The frame rate the video is capped at while a large file moves. */
export const EASED_MAX_FRAMERATE = 15;
/** Smaller files are over in a second or two: not worth changing the picture for. */
export const EASE_MIN_BYTES = 16 * 1024 * 1024;

/** Whether the video should be eased: some file of at least EASE_MIN_BYTES is moving, either way. */
export function shouldEaseVideo(transfers: readonly TransferView[]): boolean {
  return transfers.some((t) => t.state === 'transferring' && t.size >= EASE_MIN_BYTES);
}

/**
 * Cap (or uncap) the sender's frame rate. Resolves whether the browser took it; a sender without
 * encodings (nothing negotiated yet) or a browser that refuses is left as it is (the call goes on).
 */
export async function setVideoEased(sender: RTCRtpSender, eased: boolean): Promise<boolean> {
  const parameters = sender.getParameters();
  if (parameters.encodings.length === 0) return false;
  for (const encoding of parameters.encodings) {
    if (eased) encoding.maxFramerate = EASED_MAX_FRAMERATE;
    else delete encoding.maxFramerate;
  }
  await sender.setParameters(parameters);
  return true;
}
