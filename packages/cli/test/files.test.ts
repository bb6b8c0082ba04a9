import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseTargetPath, DiskFile, DiskSink } from '../src/index.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'duet-cli-files-'));

describe('where received files go', () => {
  it('keeps hostile names inside the output directory', () => {
    const dir = fresh();
    for (const name of [
      '../../etc/passwd',
      '/etc/shadow',
      '..\\..\\boot.ini',
      '..',
      '.bashrc',
      'a\u202Etxt.exe',
    ]) {
      const path = chooseTargetPath(dir, name, { force: false });
      expect(path.startsWith(`${dir}/`)).toBe(true);
      expect(path.slice(dir.length + 1)).not.toMatch(/[/\\]|^\./);
    }
  });

  it('never picks an existing or reserved name without --force', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'report.pdf'), 'old');
    expect(chooseTargetPath(dir, 'report.pdf', { force: false })).toBe(join(dir, 'report (1).pdf'));
    expect(
      chooseTargetPath(dir, 'report.pdf', { force: false, taken: new Set([join(dir, 'report (1).pdf')]) }),
    ).toBe(join(dir, 'report (2).pdf'));
    expect(chooseTargetPath(dir, 'report.pdf', { force: true })).toBe(join(dir, 'report.pdf'));
  });
});

describe('DiskSink', () => {
  it('streams into a hidden part file and shows the file under its name only on close', async () => {
    const dir = fresh();
    const target = join(dir, 'data.bin');
    const sink = new DiskSink(target, false);
    const hash = createHash('sha256');
    for (let i = 0; i < 20; i++) {
      const chunk = new Uint8Array(65_536).fill(i);
      hash.update(chunk);
      await sink.write(chunk);
    }
    expect(existsSync(target)).toBe(false);
    expect(await sink.close()).toBeNull();
    expect(createHash('sha256').update(readFileSync(target)).digest('hex')).toBe(hash.digest('hex'));
    expect(readdirSync(dir)).toEqual(['data.bin']);
  });

  it('leaves nothing behind when aborted, and will not replace a file that appeared meanwhile', async () => {
    const dir = fresh();
    const aborted = new DiskSink(join(dir, 'gone.bin'), false);
    await aborted.write(new Uint8Array(10));
    await aborted.abort();
    expect(readdirSync(dir)).toEqual([]);

    const target = join(dir, 'race.bin');
    const sink = new DiskSink(target, false);
    await sink.write(new Uint8Array([1, 2, 3]));
    writeFileSync(target, 'someone else');
    await expect(sink.close()).rejects.toThrow(/EEXIST/);
    expect(readFileSync(target, 'utf8')).toBe('someone else');

    const forced = new DiskSink(target, true);
    await forced.write(new Uint8Array([1, 2, 3]));
    await forced.close();
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
  });
});

describe('DiskSink under a slow disk', () => {
  it('keeps the order of many batches and their bytes exact across batch edges', async () => {
    const dir = fresh();
    const target = join(dir, 'many.bin');
    const sink = new DiskSink(target, true);
    const hash = createHash('sha256');
    // Odd sizes so chunks straddle the 1 MiB batches; more batches than the sink holds at once.
    for (let i = 0; i < 120; i++) {
      const chunk = new Uint8Array(65_536 + 7 * i).fill(i);
      hash.update(chunk);
      await sink.write(chunk);
    }
    await sink.close();
    expect(createHash('sha256').update(readFileSync(target)).digest('hex')).toBe(hash.digest('hex'));
  });
});

describe('DiskFile', () => {
  it('reads slices of the file as a Blob does, never past its ends', async () => {
    const dir = fresh();
    const path = join(dir, 'source.bin');
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(path, bytes);
    // Compared as Buffers: Vitest's deep equality walks megabytes slowly.
    const same = (a: ArrayBuffer, b: Uint8Array) => Buffer.from(a).equals(b);
    const file = await DiskFile.open(path);
    expect(file.size).toBe(bytes.byteLength);
    expect(file).toBeInstanceOf(Blob);
    expect(
      same(await file.slice(1_000_000, 2_500_000).arrayBuffer(), bytes.subarray(1_000_000, 2_500_000)),
    ).toBe(true);
    expect(same(await file.slice(-5).arrayBuffer(), bytes.subarray(-5))).toBe(true);
    expect(file.slice(10, 5).size).toBe(0);
    expect(file.slice(0, 10).slice(2, 4).size).toBe(2);
    expect(same(await file.slice(0, 10).slice(2, 4).arrayBuffer(), bytes.subarray(2, 4))).toBe(true);
    expect(same(await new Response(file.stream()).arrayBuffer(), bytes)).toBe(true);
  });

  it('fails a read when the file shrank under it', async () => {
    const dir = fresh();
    const path = join(dir, 'shrinks.bin');
    writeFileSync(path, new Uint8Array(1000));
    const file = await DiskFile.open(path);
    writeFileSync(path, new Uint8Array(10));
    await expect(file.arrayBuffer()).rejects.toThrow(/shorter/);
  });
});
