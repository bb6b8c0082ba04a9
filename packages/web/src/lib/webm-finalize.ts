/**
 * Make a MediaRecorder WebM file complete: Chromium's (checked with ffprobe on Chromium 156) has no
 * duration ("Duration: N/A") and no cues, because MediaRecorder writes as it goes and never goes
 * back; players then show no length and cannot seek. Remuxing it with mediabunny (the same packets,
 * no re-encoding) writes both. mediabunny is loaded only here, when a recording ends, so it costs
 * the app's first load nothing.
 */
export async function finalizeWebm(recorded: Blob): Promise<Blob> {
  const { BlobSource, BufferTarget, Conversion, Input, Output, WEBM, WebMOutputFormat } =
    await import('mediabunny');
  const input = new Input({ formats: [WEBM], source: new BlobSource(recorded) });
  const target = new BufferTarget();
  const output = new Output({ format: new WebMOutputFormat(), target });
  const conversion = await Conversion.init({ input, output, showWarnings: false });
  if (!conversion.isValid || conversion.discardedTracks.length > 0) {
    throw new Error(
      `the recording cannot be remuxed: ${conversion.discardedTracks.map((t) => t.reason).join(', ') || 'invalid'}`,
    );
  }
  await conversion.execute();
  if (!target.buffer) {
    throw new Error('the remuxed recording is empty');
  }
  return new Blob([target.buffer], { type: 'video/webm' });
}
