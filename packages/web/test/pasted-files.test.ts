import { describe, expect, it } from 'vitest';
import { takesPastedFiles } from '../src/composables/usePastedFiles.js';

describe('pasting files into the call view', () => {
  it('takes files pasted anywhere in the view, or with focus on nothing in particular', () => {
    expect(takesPastedFiles('view', '')).toBe(true);
    // Copied from an office application: the text and a picture of it. Outside a text box, the file.
    expect(takesPastedFiles('view', 'Quarterly figures')).toBe(true);
  });

  it('leaves text pasted into a text box as text, even with a picture of it on the clipboard', () => {
    expect(takesPastedFiles('text-box', 'Quarterly figures')).toBe(false);
  });

  it('takes a file pasted into a text box when the clipboard has no text (whitespace is none)', () => {
    expect(takesPastedFiles('text-box', '')).toBe(true);
    expect(takesPastedFiles('text-box', ' \n\t')).toBe(true);
  });

  it('ignores pastes outside the call view', () => {
    expect(takesPastedFiles('outside', '')).toBe(false);
    expect(takesPastedFiles('outside', 'text')).toBe(false);
  });
});
