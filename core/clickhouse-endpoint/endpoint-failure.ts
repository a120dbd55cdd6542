import { ClickHouseStoreError } from "../clickhouse/port.ts";

/** A request the endpoint refuses itself, with the ClickHouse code and name a server would answer. */
export class EndpointFailure extends ClickHouseStoreError {}
