/** The listener half of a ChannelProvider, shared by the test providers (real and fake channels). */
export class ProviderEvents {
  private readonly channelListeners = new Set<(channel: RTCDataChannel) => void>();
  private readonly reconnectListeners = new Set<() => void>();

  onChannel(listener: (channel: RTCDataChannel) => void): () => void {
    this.channelListeners.add(listener);
    return () => this.channelListeners.delete(listener);
  }

  onReconnected(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** The connection is back: tell the engine. */
  fireReconnected(): void {
    for (const listener of [...this.reconnectListeners]) {
      listener();
    }
  }

  /** Hand a channel the peer opened to the engine. */
  protected handOver(channel: RTCDataChannel): void {
    for (const listener of [...this.channelListeners]) {
      listener(channel);
    }
  }
}
