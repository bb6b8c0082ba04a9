import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, parseArgs, resolveTarget, type ParsedCommand } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'duet-cli-args-'));
const file = join(dir, 'a.txt');
writeFileSync(file, 'hello');

/** Parse as the binary would, collecting what commander prints. */
async function parse(argv: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const io = { env, writeOut: (t: string) => void (out += t), writeErr: (t: string) => void (err += t) };
  try {
    const command: ParsedCommand = await parseArgs(argv, io);
    return { command, out, err, code: EXIT.ok as number };
  } catch (error) {
    return {
      command: null,
      out,
      err,
      code: (error as { code: number }).code,
      message: (error as Error).message,
    };
  }
}

describe('duet argument parsing', () => {
  it('takes the server and room from a link, as the web app shares it', async () => {
    const { command } = await parse(['send', file, '--room', 'https://duet.example:8443/?room=Team%20Room']);
    expect(command).toMatchObject({
      command: 'send',
      files: [file],
      peer: {
        target: {
          server: 'https://duet.example:8443',
          room: 'team room',
          link: 'https://duet.example:8443/?room=team%20room',
        },
        json: false,
      },
    });
  });

  it('takes the room password from DUET_ROOM_PASSWORD only, and refuses one that is too long', async () => {
    const withPassword = await parse(['chat', '--room', 'den'], { DUET_ROOM_PASSWORD: 'sesame 芝麻' });
    expect(withPassword.command).toMatchObject({ command: 'chat', peer: { password: 'sesame 芝麻' } });
    const without = await parse(['chat', '--room', 'den']);
    expect(without.command).toMatchObject({ command: 'chat' });
    expect(without.command?.command === 'chat' && 'password' in without.command.peer).toBe(false);
    const tooLong = await parse(['chat', '--room', 'den'], { DUET_ROOM_PASSWORD: 'x'.repeat(1000) });
    expect(tooLong.code).toBe(EXIT.usage);
    expect(tooLong.message).toContain('DUET_ROOM_PASSWORD');
    expect(tooLong.message).not.toContain('xxxx');
  });

  it('--server wins over the link, the link over DUET_SERVER, DUET_SERVER over the default', () => {
    const env = { DUET_SERVER: 'http://env.example' };
    expect(resolveTarget('http://link.example/?room=a', 'http://flag.example', env).server).toBe(
      'http://flag.example',
    );
    expect(resolveTarget('http://link.example/?room=a', undefined, env).server).toBe('http://link.example');
    expect(resolveTarget('a', undefined, env).server).toBe('http://env.example');
    expect(resolveTarget('a', undefined, {}).server).toBe('http://localhost:3000');
  });

  it("takes a private room's secret from the link's fragment, and refuses a malformed one", () => {
    const secret = 'Zm9vYmFyYmF6cXV4MTIzNDU2';
    const target = resolveTarget(`http://link.example/?room=Team#k=${secret}`, undefined, {});
    expect(target).toMatchObject({
      room: 'team',
      secret,
      link: `http://link.example/?room=team#k=${secret}`,
    });
    expect(resolveTarget('http://link.example/?room=a', undefined, {}).secret).toBeNull();
    expect(() => resolveTarget('http://link.example/?room=a#k=short', undefined, {})).toThrow(/secret/);
  });

  it('parses receive and chat options with their defaults', async () => {
    const receive = await parse([
      'receive',
      '-r',
      'x',
      '--out',
      dir,
      '--force',
      '--count',
      '2',
      '--json',
      '--wait',
      '1.5',
    ]);
    expect(receive.command).toMatchObject({
      command: 'receive',
      out: dir,
      force: true,
      count: 2,
      peer: { json: true, waitMs: 1500, target: { room: 'x' } },
    });
    const chat = await parse(['chat', '--room', 'x', '--name', '  Ann  ']);
    expect(chat.command).toMatchObject({ command: 'chat', peer: { name: 'Ann', json: false } });
    const room = await parse(['room', 'new', '--server', 'https://duet.example/']);
    expect(room.command).toEqual({ command: 'room-new', server: 'https://duet.example', json: false });
  });

  it.each([
    [['send', '--room', 'x'], /missing required argument/],
    [['send', file], /required option '-r, --room <link>' not specified/],
    [['send', join(dir, 'missing.bin'), '--room', 'x'], /no such file/],
    [['send', dir, '--room', 'x'], /not a regular file/],
    [['send', file, '--room', 'ftp://x/?room=a'], /http/],
    [['send', file, '--room', 'http://x/'], /no \?room=/],
    [['send', file, '--room', 'x', '--server', 'nope'], /--server/],
    [['receive', '--room', 'x', '--out', join(dir, 'nowhere')], /not a directory/],
    [['receive', '--room', 'x', '--count', '0'], /at least 1/],
    [['chat', '--room', 'x', '--wait', 'soon'], /--wait: .*number/],
    [['chat', '--room', 'x', '--bogus'], /unknown option/],
    [['teleport'], /unknown command/],
    [[], /Usage: duet/],
  ])('refuses %j with the usage exit code and says why', async (argv, why) => {
    const result = await parse(argv);
    expect(result.code).toBe(EXIT.usage);
    expect(`${result.err}\n${result.message ?? ''}`).toMatch(why);
  });

  it('prints help with the exit codes for every command, and exits 0', async () => {
    for (const argv of [
      ['--help'],
      ['send', '--help'],
      ['receive', '--help'],
      ['chat', '--help'],
      ['room', 'new', '--help'],
    ]) {
      const result = await parse(argv);
      expect(result.code).toBe(EXIT.ok);
      expect(result.command).toEqual({ command: 'printed' });
      expect(result.out).toMatch(/Exit status:[\s\S]*4 +declined[\s\S]*5 +peer left[\s\S]*6 +hash mismatch/);
    }
  });
});
