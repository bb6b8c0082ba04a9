/**
 * Both voices of a call mixed into one audio track, through Web Audio, for MediaRecorder (which
 * records one audio track). Tracks come and go during a call (the peer's arrives later, a new
 * microphone replaces the old): `update` connects what is new and lets go of what went.
 *
 * Create it from a user gesture (the Record button's click): an AudioContext made without one may
 * start suspended, and a suspended context records silence.
 */
export class AudioMixer {
  private readonly context = new AudioContext();
  private readonly destination = this.context.createMediaStreamDestination();
  private readonly sources = new Map<string, MediaStreamAudioSourceNode>();

  /** The mixed voices. */
  get track(): MediaStreamTrack {
    const track = this.destination.stream.getAudioTracks()[0];
    if (!track) {
      throw new Error('the mixer has no output track');
    }
    return track;
  }

  /** Mix exactly the live audio tracks of `streams`. */
  update(streams: ReadonlyArray<MediaStream | null>): void {
    const wanted = new Map<string, MediaStreamTrack>();
    for (const stream of streams) {
      for (const track of stream?.getAudioTracks() ?? []) {
        if (track.readyState === 'live') {
          wanted.set(track.id, track);
        }
      }
    }
    for (const [id, source] of this.sources) {
      if (!wanted.has(id)) {
        source.disconnect();
        this.sources.delete(id);
      }
    }
    for (const [id, track] of wanted) {
      if (!this.sources.has(id)) {
        // A stream of its own per track: a source node takes the first audio track of its stream.
        const source = this.context.createMediaStreamSource(new MediaStream([track]));
        source.connect(this.destination);
        this.sources.set(id, source);
      }
    }
    if (this.context.state === 'suspended') {
      void this.context.resume();
    }
  }

  close(): void {
    for (const source of this.sources.values()) {
      source.disconnect();
    }
    this.sources.clear();
    this.track.stop();
    void this.context.close();
  }
}
