#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ConfigError, describeConfig, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startDuetServer } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exit(error.exitCode);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  logger.info({ config: describeConfig(config) }, 'configuration');
  if (
    config.iceServers.length === 0 &&
    config.turnUrls.length === 0 &&
    config.stunUrls.length === 0 &&
    config.turnServer === 'off'
  ) {
    logger.info(
      'no STUN/TURN servers configured: calls connect on this machine and LAN only (DUET_ICE_SERVERS)',
    );
  }
  const server = await startDuetServer(config, { logger });
  logger.info({ url: server.url() }, `Duet is listening on ${server.url()}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `duet-server failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
