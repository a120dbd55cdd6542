import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { createKafka } from "../../core/kafka/kafka.ts";
import { REPO_ROOT } from "../../core/runtime/local-env.ts";
import { inNamespace, type Host } from "./network.ts";
import { waitFor } from "./wait.ts";
import { tail } from "./log-tail.ts";

/**
 * The store host's private instances: a Postgres cluster (initdb/pg_ctl on its own data directory, as the
 * postgres user), a Redis and a single-node KRaft Kafka from the jars the local stack caches, each listening on
 * the store host's namespace address only. Nothing here touches the machine's shared stack.
 */

export const PG_PORT = 5432;
export const REDIS_PORT = 6379;
export const KAFKA_PORT = 9092;
const KAFKA_CONTROLLER_PORT = 9093;

export interface StoreHost {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
  stop(): void;
}

function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(`${root}/15/bin/initdb`)) return `${root}/15/bin`;
  // The stack script follows Debian's major when 15 is not packaged; so does this.
  const majors = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (majors.length === 0)
    throw new Error("no Postgres under /usr/lib/postgresql: run the local stack first");
  return `${root}/${majors[0]}/bin`;
}

function kafkaLibs(): string {
  const pom = readFileSync(path.join(REPO_ROOT, "deploy/local-stack/kafka/pom.xml"), "utf8");
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  const cache =
    process.env.RECKON_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "reckon");
  const libs = path.join(cache, `kafka-${version}`, "libs");
  if (!existsSync(path.join(libs, ".complete")))
    throw new Error(`Kafka jars missing at ${libs}: run "bash deploy/local-stack/stack.sh up" first`);
  return libs;
}

/** A daemon started in the store namespace, its output in a log file. */
function startDaemon(host: Host, command: readonly string[], logFile: string): ChildProcess {
  const out = openSync(logFile, "a");
  const child = spawn("ip", inNamespace(host.ns, command), { stdio: ["ignore", out, out] });
  child.on("error", () => undefined);
  return child;
}

async function startPostgres(host: Host, dir: string): Promise<() => void> {
  const bin = postgresBin();
  // The postgres user owns its directory: the data directory and the server log inside it.
  const own = path.join(dir, "postgres");
  const data = path.join(own, "data");
  const logFile = path.join(own, "postgres.log");
  mkdirSync(data, { recursive: true });
  execFileSync("chown", ["-R", "postgres:", own]);
  const asPostgres = (args: readonly string[]) => ["runuser", "-u", "postgres", "--", ...args];
  const initdb = asPostgres([
    `${bin}/initdb`,
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  execFileSync(initdb[0]!, initdb.slice(1), { stdio: "ignore", timeout: 120_000 });
  // Trust on the bridge subnet only: the namespace has no other network.
  const subnet = host.address.replace(/\.\d+$/, ".0/24");
  writeFileSync(path.join(data, "pg_hba.conf"), `local all all trust\nhost all all ${subnet} trust\n`);
  const options = [
    `-c listen_addresses=${host.address}`,
    `-c port=${PG_PORT}`,
    `-c unix_socket_directories=${data}`,
    "-c max_connections=300",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c shared_buffers=64MB",
  ].join(" ");
  const start = asPostgres([
    `${bin}/pg_ctl`,
    "-D",
    data,
    "-l",
    logFile,
    "-w",
    "-t",
    "60",
    "-o",
    options,
    "start",
  ]);
  try {
    execFileSync("ip", inNamespace(host.ns, start), { stdio: "ignore", timeout: 90_000 });
  } catch (err) {
    throw new Error(`Postgres did not start on the store host:\n${tail(logFile)}`, { cause: err });
  }
  return () => {
    try {
      execFileSync(
        "ip",
        inNamespace(host.ns, asPostgres([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "stop"])),
        {
          stdio: "ignore",
          timeout: 30_000,
        },
      );
    } catch {
      // The namespace's processes are killed when the network is removed.
    }
  };
}

function kafkaProperties(host: Host, data: string): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=${host.address}:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${host.address}:${KAFKA_PORT},CONTROLLER://${host.address}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${host.address}:${KAFKA_PORT},CONTROLLER://${host.address}:${KAFKA_CONTROLLER_PORT}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${data}
num.partitions=3
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
`;
}

function startKafka(host: Host, dir: string): ChildProcess {
  const libs = kafkaLibs();
  const data = path.join(dir, "kafka-data");
  mkdirSync(data, { recursive: true });
  const properties = path.join(dir, "kafka.properties");
  writeFileSync(properties, kafkaProperties(host, data));
  const log4j = `-Dlog4j2.configurationFile=${path.join(REPO_ROOT, "deploy/local-stack/kafka/log4j2.properties")}`;
  const clusterId = randomBytes(16).toString("base64url").replace(/^-/, "A");
  execFileSync(
    "java",
    [
      "-cp",
      `${libs}/*`,
      log4j,
      "kafka.tools.StorageTool",
      "format",
      "--standalone",
      "-t",
      clusterId,
      "-c",
      properties,
    ],
    { stdio: "ignore", timeout: 120_000 },
  );
  return startDaemon(
    host,
    [
      "java",
      "-Xmx512m",
      "-Xms128m",
      "-XX:+UseG1GC",
      "-XX:+ExitOnOutOfMemoryError",
      "-Djava.awt.headless=true",
      `-Dkafka.logs.dir=${dir}`,
      log4j,
      "-cp",
      `${libs}/*`,
      "kafka.Kafka",
      properties,
    ],
    path.join(dir, "kafka.log"),
  );
}

/** Starts the three stores in the store host's namespace and waits until each answers from the runner. */
export async function startStores(host: Host, runDir: string): Promise<StoreHost> {
  const dir = path.join(runDir, "stores");
  mkdirSync(dir, { recursive: true });
  // The postgres user must reach its data directory under the run directory.
  chmodSync(runDir, 0o755);
  chmodSync(dir, 0o755);
  const daemons: ChildProcess[] = [];
  let stopPostgres: (() => void) | undefined;
  const stop = () => {
    stopPostgres?.();
    for (const d of daemons) d.kill("SIGKILL");
  };
  try {
    daemons.push(
      startDaemon(
        host,
        [
          "redis-server",
          "--bind",
          host.address,
          "--port",
          String(REDIS_PORT),
          "--save",
          "",
          "--appendonly",
          "no",
          "--protected-mode",
          "no",
          "--dir",
          dir,
        ],
        path.join(dir, "redis.log"),
      ),
    );
    daemons.push(startKafka(host, dir));
    stopPostgres = await startPostgres(host, dir);

    const admin = new pg.Client({
      connectionString: `postgres://postgres@${host.address}:${PG_PORT}/postgres`,
    });
    await admin.connect();
    await admin.query("CREATE DATABASE reckon");
    await admin.end();

    const redisUrl = `redis://${host.address}:${REDIS_PORT}`;
    await waitFor("the store host's Redis to answer", 30_000, async () => {
      const redis = new Redis(redisUrl, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await redis.connect();
        return (await redis.ping()) === "PONG";
      } catch {
        return false;
      } finally {
        redis.disconnect();
      }
    });

    const kafkaBrokers = `${host.address}:${KAFKA_PORT}`;
    const kafka = createKafka([kafkaBrokers], "multi-host-probe");
    await waitFor("the store host's Kafka to answer", 120_000, async () => {
      if (daemons[1]!.exitCode !== null) throw new Error(`Kafka exited: see ${path.join(dir, "kafka.log")}`);
      const admin = kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length === 1;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    });

    return {
      databaseUrl: `postgres://postgres@${host.address}:${PG_PORT}/reckon`,
      redisUrl,
      kafkaBrokers,
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}
