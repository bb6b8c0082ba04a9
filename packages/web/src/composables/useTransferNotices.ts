import type { TransferState } from '@duet/rtc';
import { watch } from 'vue';
import { transferNotice } from '../lib/transfers.js';
import type { Duet } from './useDuet.js';

/**
 * Notices for file transfers: an offer while the chat is closed, and every transfer that finished,
 * failed, or was declined or cancelled by the peer. Transfers already there when the call view
 * mounts (a reload restored the call) are not announced again.
 */
export function useTransferNotices(duet: Duet, chatOpen: () => boolean): void {
  const seen = new Map<string, TransferState>();
  for (const view of duet.snapshot.value.transfers) {
    seen.set(view.id, view.state);
  }

  watch(
    () => duet.snapshot.value.transfers,
    (transfers) => {
      const peerName = duet.snapshot.value.call?.peer.name ?? '';
      const present = new Set<string>();
      for (const view of transfers) {
        present.add(view.id);
        const notice = transferNotice(seen.get(view.id), view, { peerName, chatOpen: chatOpen() });
        seen.set(view.id, view.state);
        if (notice) {
          duet.notify(notice.message, notice.tone);
        }
      }
      for (const id of seen.keys()) {
        if (!present.has(id)) {
          seen.delete(id);
        }
      }
    },
  );
}
