import type { Browser } from '@playwright/test';
import { startBaseline, startDuet, type Server } from './processes.js';
import { startStaticServer, type StaticServer } from './static-server.js';

/** What a browser benchmark runs against: Duet, the two baselines' servers, and their pages. */
export interface Stage {
  duet: Server;
  raw: Server;
  peerjs: Server;
  /** Serves the baseline pages. */
  pages: StaticServer;
}

/** Start Duet (with the given extra options) beside the raw relay, peerjs-server and the pages. */
export async function startStage(duetOptions: Parameters<typeof startDuet>[1] = {}): Promise<Stage> {
  return {
    duet: await startDuet([], duetOptions),
    raw: await startBaseline('bench/baselines/raw-relay.ts'),
    peerjs: await startBaseline('bench/baselines/peer-server.ts'),
    pages: await startStaticServer(),
  };
}

/** Close the browser (if it started) and stop everything the stage started. */
export async function stopStage(browser: Browser | null, stage: Stage): Promise<void> {
  await browser?.close();
  await Promise.all([stage.duet.stop(), stage.raw.stop(), stage.peerjs.stop(), stage.pages.close()]);
}

/**
 * One more run per system under the CPU profiler, not counted: evidence for where the time goes.
 * `runProfiled` returns the run's profile, or its error.
 */
export async function profileEach<S extends string, P>(
  systems: readonly S[],
  runProfiled: (system: S) => Promise<{ profile?: P; error?: string }>,
  progress: (line: string) => void,
): Promise<Partial<Record<S, P>>> {
  const profiles: Partial<Record<S, P>> = {};
  for (const system of systems) {
    const result = await runProfiled(system);
    if (result.profile) {
      profiles[system] = result.profile;
    }
    progress(`profiled ${system}${result.error ? ` FAILED: ${result.error.split('\n')[0]}` : ''}`);
  }
  return profiles;
}
