/** What the call control bar offers its parent through a template ref (`defineExpose`). */
export interface CallControlsApi {
  /** Return focus to the Settings button when the settings panel closes from inside. */
  focusSettings(): void;
  /** Return focus to the Chat button when the chat closes from inside. */
  focusChat(): void;
}
