import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CLIENT_EVENTS, SERVER_EVENTS, type ClientEventName, type ServerEventName } from '../src/events.js';
import { BodySchema, FileChannelAckSchema, FileChannelHeaderSchema } from '../src/frames.js';
import { FailureSchema } from '../src/result.js';

/**
 * docs/protocol.md is the wire contract: every JSON example in its reference sections must be a
 * message the schemas accept, so the prose cannot drift from the code.
 */
const markdown = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');

interface Section {
  part: 'client' | 'server' | 'frames' | 'other';
  name: string;
  examples: unknown[];
}

function referenceSections(): Section[] {
  const sections: Section[] = [];
  let part: Section['part'] = 'other';
  let current: Section | undefined;
  let inJson = false;
  let block: string[] = [];
  for (const line of markdown.split('\n')) {
    if (inJson) {
      if (line.startsWith('```')) {
        inJson = false;
        current?.examples.push(JSON.parse(block.join('\n')));
        block = [];
      } else {
        block.push(line);
      }
      continue;
    }
    if (line.startsWith('```json')) {
      inJson = true;
    } else if (line.startsWith('### Client → server')) {
      part = 'client';
    } else if (line.startsWith('### Server → client')) {
      part = 'server';
    } else if (line.startsWith('### Bodies')) {
      part = 'frames';
    } else if (/^#{2,3} /.test(line)) {
      part = 'other';
      current = undefined;
    } else if (line.startsWith('#### ')) {
      const name = /^#### `([^`]+)`/.exec(line)?.[1];
      current = name && part !== 'other' ? { part, name, examples: [] } : undefined;
      if (current) {
        sections.push(current);
      }
    }
  }
  return sections;
}

const sections = referenceSections();

function accepts(schema: z.ZodType, example: unknown): boolean {
  return schema.safeParse(example).success;
}

describe('docs/protocol.md', () => {
  it('documents every client event, server event and frame body, each with examples', () => {
    const names = (part: Section['part']) => sections.filter((s) => s.part === part).map((s) => s.name);
    expect(names('client').sort()).toEqual(Object.keys(CLIENT_EVENTS).sort());
    expect(names('server').sort()).toEqual(Object.keys(SERVER_EVENTS).sort());
    expect(names('frames').length).toBeGreaterThan(5);
    for (const section of sections) {
      expect(section.examples.length, section.name).toBeGreaterThan(0);
    }
  });

  it.each(sections.filter((s) => s.part === 'client').map((s) => [s.name, s] as const))(
    '`%s`: the request and every answer shown are valid',
    (_name, section) => {
      const event = CLIENT_EVENTS[section.name as ClientEventName];
      const [request, ...answers] = section.examples;
      expect(accepts(event.request, request), JSON.stringify(request)).toBe(true);
      for (const answer of answers) {
        const valid =
          accepts(FailureSchema, answer) ||
          (typeof answer === 'object' &&
            answer !== null &&
            (answer as { ok?: unknown }).ok === true &&
            accepts(event.response, answer)) ||
          // A section may also show what the other party then receives.
          Object.values(SERVER_EVENTS).some((schema) => accepts(schema, answer));
        expect(valid, JSON.stringify(answer)).toBe(true);
      }
    },
  );

  it.each(sections.filter((s) => s.part === 'server').map((s) => [s.name, s] as const))(
    '`%s`: every payload shown is valid',
    (_name, section) => {
      const schema = SERVER_EVENTS[section.name as ServerEventName];
      for (const example of section.examples) {
        expect(accepts(schema, example), JSON.stringify(example)).toBe(true);
      }
    },
  );

  it.each(sections.filter((s) => s.part === 'frames').map((s) => [s.name, s] as const))(
    'frame body `%s`: every example is valid',
    (_name, section) => {
      for (const example of section.examples) {
        const body = (example as { b?: unknown }).b ?? example;
        expect(accepts(BodySchema, body), JSON.stringify(example)).toBe(true);
      }
    },
  );

  it("the file channel's header and ack examples are valid", () => {
    const blocks = [...markdown.matchAll(/```json\n([^`]*)```/g)].map((m) => JSON.parse(m[1]!) as unknown);
    const shaped = (keys: string[]) =>
      blocks.filter(
        (b) => typeof b === 'object' && b !== null && Object.keys(b).sort().join() === keys.join(),
      );
    const headers = [
      ...shaped(['offset', 'transferId', 'v']),
      ...shaped(['channelAcks', 'offset', 'transferId', 'v']),
    ];
    const acks = shaped(['ack', 'v']);
    expect(headers.length).toBeGreaterThan(1);
    expect(acks.length).toBeGreaterThan(0);
    for (const header of headers) {
      expect(accepts(FileChannelHeaderSchema, header), JSON.stringify(header)).toBe(true);
    }
    for (const ack of acks) {
      expect(accepts(FileChannelAckSchema, ack), JSON.stringify(ack)).toBe(true);
    }
  });
});
