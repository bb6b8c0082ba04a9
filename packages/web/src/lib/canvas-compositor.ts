import { startTicker } from './frame-ticker.js';

/** One half of the recorded picture: a person's video, or their name while they show none. */
export interface Tile {
  stream: MediaStream | null;
  /** Shown over the tile, and alone in it while there is no picture. */
  label: string;
  /** False while their camera is off (the track may still deliver black frames). */
  showVideo: boolean;
}

export interface CompositorOptions {
  /** The tiles, read at every frame (streams and labels change during a call). Left to right. */
  tiles: () => readonly Tile[];
  /** The recorded picture's size: each tile gets an equal share of the width. */
  width?: number;
  height?: number;
  fps?: number;
}

/*
 * 1280x480: two 640x480 halves, the size a call's video usually arrives in (a 16:9 camera is
 * letterboxed in its half rather than cropped: nobody's face is cut off). 24 frames a second is what
 * a call looks smooth at, and drawing two tiles that often is cheap next to encoding them.
 */
const DEFAULT_WIDTH = 1280;
const DEFAULT_HEIGHT = 480;
const DEFAULT_FPS = 24;
const BACKGROUND = '#111318';
const TILE_BACKGROUND = '#1d2027';
const TEXT = '#f2f3f5';

/**
 * Both pictures of a call side by side on a canvas, as a video track for MediaRecorder. It plays
 * each stream in a `<video>` of its own (muted, never in the document): the call's visible elements
 * move and change with the layout, and the recording must not depend on them.
 */
export class CanvasCompositor {
  /** The composed picture (`canvas.captureStream`), one video track. */
  readonly stream: MediaStream;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly videos: HTMLVideoElement[] = [];
  private readonly stopTicker: () => void;
  private readonly intervalMs: number;
  private lastDrawAt = -Infinity;
  private lastDrawCost = 0;

  constructor(private readonly options: CompositorOptions) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = options.width ?? DEFAULT_WIDTH;
    this.canvas.height = options.height ?? DEFAULT_HEIGHT;
    const context = this.canvas.getContext('2d', { alpha: false });
    if (!context) {
      throw new Error('no 2D canvas context');
    }
    this.context = context;
    const fps = options.fps ?? DEFAULT_FPS;
    this.intervalMs = 1000 / fps;
    this.draw();
    this.stream = this.canvas.captureStream(fps);
    this.stopTicker = startTicker(this.intervalMs, () => this.tick());
  }

  /**
   * Draw, unless that would take the page's main thread from everything else. Beats queue up while
   * the thread is busy and then arrive together: those that come too soon after a frame are
   * dropped (a quarter of the interval is left for jitter). And drawing a frame without a GPU can
   * take longer than the interval itself (25 ms and more on a loaded machine, for reading two video
   * frames back): frames then come at most every two draw times, so at least half of the thread
   * stays for the call, the page's rendering and input (without it a loaded machine's recording
   * page stopped answering clicks).
   */
  private tick(): void {
    const now = performance.now();
    if (now - this.lastDrawAt < Math.max(this.intervalMs * 0.75, this.lastDrawCost * 2)) {
      return;
    }
    this.lastDrawAt = now;
    this.draw();
    this.lastDrawCost = performance.now() - now;
  }

  stop(): void {
    this.stopTicker();
    for (const track of this.stream.getTracks()) {
      track.stop();
    }
    for (const video of this.videos) {
      video.srcObject = null;
    }
    this.videos.length = 0;
  }

  private draw(): void {
    const { canvas, context } = this;
    const tiles = this.options.tiles();
    context.fillStyle = BACKGROUND;
    context.fillRect(0, 0, canvas.width, canvas.height);
    const width = canvas.width / Math.max(1, tiles.length);
    tiles.forEach((tile, index) =>
      this.drawTile(tile, this.videoFor(index, tile.stream), index * width, width),
    );
  }

  /** The tile's own player, following its stream. */
  private videoFor(index: number, stream: MediaStream | null): HTMLVideoElement {
    let video = this.videos[index];
    if (!video) {
      video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      this.videos[index] = video;
    }
    if (video.srcObject !== stream) {
      video.srcObject = stream;
      if (stream) {
        // Muted, so autoplay rules allow it; a failure only means this tile shows its label.
        video.play().catch(() => undefined);
      }
    }
    return video;
  }

  private drawTile(tile: Tile, video: HTMLVideoElement, x: number, width: number): void {
    const { context } = this;
    const height = this.canvas.height;
    const hasPicture =
      tile.showVideo && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0;
    if (hasPicture) {
      // Fit (contain), centred in the tile.
      const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
      const w = video.videoWidth * scale;
      const h = video.videoHeight * scale;
      context.drawImage(video, x + (width - w) / 2, (height - h) / 2, w, h);
    } else {
      context.fillStyle = TILE_BACKGROUND;
      context.fillRect(x + 2, 2, width - 4, height - 4);
      context.fillStyle = TEXT;
      context.font = `600 ${Math.round(height / 12)}px system-ui, sans-serif`;
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.fillText(tile.label, x + width / 2, height / 2, width - 32);
    }
    if (hasPicture) {
      // The name in a corner, as the call screen shows it, so the file says who is who.
      const size = Math.round(height / 24);
      context.font = `600 ${size}px system-ui, sans-serif`;
      context.textAlign = 'left';
      context.textBaseline = 'middle';
      const text = tile.label;
      const textWidth = Math.min(context.measureText(text).width, width - 48);
      context.fillStyle = 'rgb(0 0 0 / 0.55)';
      context.fillRect(x + 12, height - size * 2 - 12, textWidth + size, size * 2);
      context.fillStyle = TEXT;
      context.fillText(text, x + 12 + size / 2, height - size - 12, width - 48);
    }
  }
}
