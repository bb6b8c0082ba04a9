/** What the call control bar offers its parent through a template ref (`defineExpose`). */
export interface CallControlsApi {
  /** Return focus to the Settings button when the settings panel closes from inside. */
  focusSettings(): void;
  /** Return focus to the Chat button when the chat closes from inside. */
  focusChat(): void;
}

/** What the video stage offers its parent through a template ref (`defineExpose`). */
export interface CallStageApi {
  /** The peer's video element (for picture-in-picture); null in a data-only call. */
  remoteVideo(): HTMLVideoElement | null;
}

/** The call screen's side panels; one is open at a time. */
export type CallPanel = 'settings' | 'stats' | 'people';

/** What the call bar offers its parent through a template ref (`defineExpose`). */
export interface CallBarApi {
  /** Return focus to the People or Statistics button when that panel closes from inside. */
  focusPanelButton(panel: 'people' | 'stats'): void;
}
