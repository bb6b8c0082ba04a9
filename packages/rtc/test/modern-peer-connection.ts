import wrtc from '@roamhq/wrtc';

/**
 * @roamhq/wrtc (real libwebrtc in Node) predates two parts of the current spec that every browser
 * Duet supports has: `setLocalDescription()` without arguments and implicit rollback of a local
 * offer when a remote offer arrives. This adapter adds exactly those to the real peer connection.
 */
export class ModernPeerConnection extends wrtc.RTCPeerConnection {
  override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
    if (description?.type) {
      return super.setLocalDescription(description);
    }
    const answering =
      this.signalingState === 'have-remote-offer' || this.signalingState === 'have-remote-pranswer';
    return super.setLocalDescription(answering ? await this.createAnswer() : await this.createOffer());
  }

  override async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    if (description.type === 'offer' && this.signalingState === 'have-local-offer') {
      await super.setLocalDescription({ type: 'rollback' });
    }
    return super.setRemoteDescription(description);
  }
}

export const createModernPeerConnection = (configuration: RTCConfiguration): RTCPeerConnection =>
  new ModernPeerConnection(configuration);
