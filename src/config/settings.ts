// The one table of ZOMBI_* settings: parsing, validation messages, --help, docs/config.md and the
// Config type (src/config/index.ts derives it from the rows) all come from it. A new setting is one row.

export type SettingKind = 'string' | 'integer' | 'boolean' | 'enum' | 'path'

/** What one unit of a variable is worth in its config field: MiB in bytes, seconds and minutes in milliseconds. */
export const UNIT_FACTORS = { MiB: 1024 * 1024, seconds: 1000, minutes: 60_000 } as const
export type SettingUnit = keyof typeof UNIT_FACTORS

export interface SettingDefinition {
  /** Environment variable name (the CLI flag is the same name, e.g. --ZOMBI_KAFKA_PORT=9093). */
  name: string
  /** The Config field the value lands in. */
  field: string
  /** The variable's unit when the field counts in a smaller one (ZOMBI_FETCH_CACHE_MB in MiB, fetchCacheBytes in bytes). */
  unit?: SettingUnit
  kind: SettingKind
  /** Default as written in the environment; null means "unset" (optional setting). */
  default: string | null
  description: string
  /** Allowed values for enum settings. */
  values?: readonly string[]
  min?: number
  max?: number
}

export const SETTINGS = [
  { name: 'ZOMBI_HOST', field: 'host', kind: 'string', default: '127.0.0.1', description: 'Address both listeners (Kafka and HTTP) bind to.' },
  { name: 'ZOMBI_KAFKA_PORT', field: 'kafkaPort', kind: 'integer', default: '9092', min: 0, max: 65535, description: 'Kafka wire protocol port; 0 picks a free port (reported in the "zombi ready" log line).' },
  { name: 'ZOMBI_PORT', field: 'httpPort', kind: 'integer', default: '8080', min: 0, max: 65535, description: 'HTTP port: the Zombi HTTP API, health, /metrics and /openapi.yaml; 0 picks a free port.' },
  { name: 'ZOMBI_ADVERTISED_HOST', field: 'advertisedHost', kind: 'string', default: null, description: 'Host name given to clients in Metadata and FindCoordinator; defaults to ZOMBI_HOST (or 127.0.0.1 when binding to a wildcard address).' },
  { name: 'ZOMBI_ADVERTISED_KAFKA_PORT', field: 'advertisedKafkaPort', kind: 'integer', default: null, min: 1, max: 65535, description: 'Port given to clients in Metadata; defaults to the bound Kafka port (useful behind NAT or a proxy).' },
  { name: 'ZOMBI_NODE_ID', field: 'nodeId', kind: 'integer', default: '0', min: 0, max: 2147483647, description: 'Broker node id reported to Kafka clients.' },
  { name: 'ZOMBI_DATA_DIR', field: 'dataDir', kind: 'path', default: './data', description: 'Directory of the hot log (segment files and the classic-level index).' },
  { name: 'ZOMBI_DURABILITY', field: 'durability', kind: 'enum', default: 'fsync', values: ['fsync', 'none'], description: 'fsync: every acknowledged write is fdatasync-ed first (group commit per event-loop tick). none: acknowledged once written to the OS (survives a process crash, not a power loss).' },
  { name: 'ZOMBI_SEGMENT_BYTES', field: 'segmentBytes', kind: 'integer', default: '268435456', min: 1048576, max: 2147483647, description: 'Size at which the hot log rolls to a new segment file.' },
  { name: 'ZOMBI_MIN_FREE_DISK_MB', field: 'minFreeDiskBytes', unit: 'MiB', kind: 'integer', default: '64', min: 0, max: 1048576, description: 'Free space kept on the data dir\'s filesystem for the hot-log index and state (classic-level needs room to flush its 4 MiB write buffer and compact; group offsets, producer ids and topics keep being written while produce is refused). A Kafka produce or HTTP write that would leave less is refused before offsets are given out (KAFKA_STORAGE_ERROR, HTTP 507) and accepted again once space returns (measured every second); reads go on. Half of it, at most 16 MiB, is held in <data dir>/reserved-space and given back when the disk fills up, so the index can open on a full disk. 0 turns the floor and the reserve off (a write failing for lack of space is still rolled back and refused).' },
  { name: 'ZOMBI_HOT_RETENTION_MS', field: 'hotRetentionMs', kind: 'integer', default: '86400000', min: -1, max: 9007199254740991, description: 'Hot-log segments whose batches are all committed to Iceberg are deleted once last written this long ago; -1 keeps them (unless over ZOMBI_HOT_RETENTION_BYTES). Whole segments go, so up to one segment more is kept; Kafka Fetch below the new log start offset gets OFFSET_OUT_OF_RANGE, the records stay in Iceberg.' },
  { name: 'ZOMBI_HOT_RETENTION_BYTES', field: 'hotRetentionBytes', kind: 'integer', default: '-1', min: -1, max: 9007199254740991, description: 'While the hot-log segments hold more bytes than this, the oldest ones already committed to Iceberg are deleted (broker-wide, not per partition); -1 means no limit. Unflushed records are never deleted.' },
  { name: 'ZOMBI_HOT_RETENTION_CHECK_SECS', field: 'hotRetentionCheckMs', unit: 'seconds', kind: 'integer', default: '60', min: 1, max: 86400, description: 'How often hot retention runs (it also runs after every Iceberg commit).' },
  { name: 'ZOMBI_AUTO_CREATE_TOPICS', field: 'autoCreateTopics', kind: 'boolean', default: 'true', description: 'Create unknown topics on Metadata and Produce requests.' },
  { name: 'ZOMBI_DEFAULT_PARTITIONS', field: 'defaultPartitions', kind: 'integer', default: '1', min: 1, max: 10000, description: 'Partition count of auto-created topics and of CreateTopics requests that leave it to the broker (-1).' },
  { name: 'ZOMBI_MAX_PARTITIONS', field: 'maxPartitions', kind: 'integer', default: '100000', min: 1, max: 10000000, description: 'Most partitions over all topics; CreateTopics, CreatePartitions and auto-creation past it get POLICY_VIOLATION. Each partition costs about 1 KB of memory even while empty, so this bounds what clients can make the broker hold.' },
  { name: 'ZOMBI_MAX_REQUEST_BYTES', field: 'maxRequestBytes', kind: 'integer', default: '104857600', min: 1024, max: 2147483647, description: 'Largest Kafka request frame accepted; a larger size prefix closes the connection before any buffer is allocated.' },
  { name: 'ZOMBI_MAX_BUFFERED_REQUEST_MB', field: 'maxBufferedRequestBytes', unit: 'MiB', kind: 'integer', default: '256', min: 1, max: 65536, description: 'Bytes of Kafka requests that have begun but not finished arriving, summed over all connections; over it, the connections holding the largest incomplete requests are closed. Must be at least ZOMBI_MAX_REQUEST_BYTES.' },
  { name: 'ZOMBI_REQUEST_TIMEOUT_MS', field: 'requestTimeoutMs', kind: 'integer', default: '30000', min: 100, max: 3600000, description: 'Longest a Kafka request may take to arrive, from its first byte to its last; a slower one closes its connection (time the broker itself stopped reading does not count).' },
  { name: 'ZOMBI_CONNECTIONS_MAX_IDLE_MS', field: 'connectionsMaxIdleMs', kind: 'integer', default: '600000', min: 100, max: 2147483647, description: 'A Kafka connection with no request in flight and no bytes received for this long is closed (Kafka: connections.max.idle.ms).' },
  { name: 'ZOMBI_MAX_CONNECTIONS', field: 'maxConnections', kind: 'integer', default: '10000', min: 1, max: 1000000, description: 'Most Kafka connections open at once; a newer one is closed as soon as it is accepted (Kafka: max.connections). Each takes a file descriptor.' },
  { name: 'ZOMBI_MAX_CONNECTIONS_PER_IP', field: 'maxConnectionsPerAddress', kind: 'integer', default: '5000', min: 1, max: 1000000, description: 'Most Kafka connections open at once from one client address, so one host cannot take every slot; a newer one is closed as soon as it is accepted (Kafka: max.connections.per.ip).' },
  { name: 'ZOMBI_MAX_MESSAGE_BYTES', field: 'maxMessageBytes', kind: 'integer', default: '1048588', min: 1024, max: 2147483647, description: 'Broker default of the topic config max.message.bytes (largest record batch accepted).' },
  { name: 'ZOMBI_FETCH_CACHE_MB', field: 'fetchCacheBytes', unit: 'MiB', kind: 'integer', default: '256', min: 0, max: 65536, description: 'Memory budget for recently produced batches kept to serve Fetch without reading the log files.' },
  { name: 'ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS', field: 'groupInitialRebalanceDelayMs', kind: 'integer', default: '3000', min: 0, max: 300000, description: 'How long the first rebalance of an empty consumer group waits for more members (Kafka: group.initial.rebalance.delay.ms).' },
  { name: 'ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS', field: 'groupMinSessionTimeoutMs', kind: 'integer', default: '6000', min: 1, max: 3600000, description: 'Smallest session timeout a group member may ask for (Kafka: group.min.session.timeout.ms).' },
  { name: 'ZOMBI_GROUP_MAX_SESSION_TIMEOUT_MS', field: 'groupMaxSessionTimeoutMs', kind: 'integer', default: '1800000', min: 1, max: 86400000, description: 'Largest session timeout a group member may ask for (Kafka: group.max.session.timeout.ms).' },
  { name: 'ZOMBI_GROUP_MAX_SIZE', field: 'groupMaxSize', kind: 'integer', default: '1000', min: 1, max: 1000000, description: 'Most members (joined or holding a pending member id) per consumer group; more get GROUP_MAX_SIZE_REACHED.' },
  { name: 'ZOMBI_OFFSETS_RETENTION_MINUTES', field: 'offsetsRetentionMs', unit: 'minutes', kind: 'integer', default: '10080', min: 1, max: 5256000, description: 'Committed offsets of a group that has been empty this long are deleted (Kafka: offsets.retention.minutes).' },
  { name: 'ZOMBI_STORAGE', field: 'storage', kind: 'enum', default: 'local', values: ['local', 's3'], description: 'Where table files (Parquet, manifests, metadata) live: local (the ZOMBI_WAREHOUSE directory) or s3 (the bucket ZOMBI_S3_BUCKET under ZOMBI_S3_PREFIX; credentials from the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, instance roles).' },
  { name: 'ZOMBI_WAREHOUSE', field: 'warehouse', kind: 'path', default: null, description: 'Directory of the local Iceberg warehouse (tables at <warehouse>/<namespace>/<topic>); defaults to <ZOMBI_DATA_DIR>/warehouse. Only with ZOMBI_STORAGE=local.' },
  { name: 'ZOMBI_S3_BUCKET', field: 's3Bucket', kind: 'string', default: null, description: 'S3 bucket of the warehouse (tables at s3://<bucket>/<prefix>/<namespace>/<topic>); required with ZOMBI_STORAGE=s3.' },
  { name: 'ZOMBI_S3_PREFIX', field: 's3Prefix', kind: 'string', default: null, description: 'Key prefix of the warehouse inside the bucket (no leading or trailing /); unset puts tables at the bucket root.' },
  { name: 'ZOMBI_S3_ENDPOINT', field: 's3Endpoint', kind: 'string', default: null, description: 'S3 endpoint URL for S3-compatible stores (MinIO, Ceph, R2, GCS interoperability), e.g. http://127.0.0.1:9000; unset uses AWS.' },
  { name: 'ZOMBI_S3_REGION', field: 's3Region', kind: 'string', default: null, description: 'S3 region; unset takes AWS_REGION or the AWS profile\'s region, else us-east-1.' },
  { name: 'ZOMBI_S3_FORCE_PATH_STYLE', field: 's3ForcePathStyle', kind: 'boolean', default: 'false', description: 'Address the bucket in the path (http://endpoint/bucket/key) instead of the host name; most S3-compatible servers need it.' },
  { name: 'ZOMBI_S3_MAX_RETRIES', field: 's3MaxRetries', kind: 'integer', default: '8', min: 0, max: 100, description: 'Retries of one S3 request after throttling, a 5xx answer, a reset connection or a timeout, with exponential backoff and full jitter; then the flush fails and is retried whole later (the hot log keeps every record).' },
  { name: 'ZOMBI_MAX_CONCURRENT_S3_UPLOADS', field: 'maxConcurrentS3Uploads', kind: 'integer', default: '4', min: 1, max: 256, description: 'S3 uploads (whole objects and multipart parts) in flight at once, broker-wide.' },
  { name: 'ZOMBI_CATALOG_TYPE', field: 'catalogType', kind: 'enum', default: 'filesystem', values: ['filesystem', 'rest'], description: 'Iceberg catalog: filesystem (vN.metadata.json + version-hint.text next to the table files; DuckDB, pyiceberg and Spark read it by path) or rest (an Iceberg REST catalog at ZOMBI_CATALOG_URL owns the metadata; table files still go to ZOMBI_STORAGE). Either way the broker serves its tables read-only as a REST catalog under /iceberg on ZOMBI_PORT.' },
  { name: 'ZOMBI_CATALOG_URL', field: 'catalogUrl', kind: 'string', default: null, description: 'Base URL of the Iceberg REST catalog (the part before /v1, e.g. http://127.0.0.1:8181); required with ZOMBI_CATALOG_TYPE=rest.' },
  { name: 'ZOMBI_CATALOG_WAREHOUSE', field: 'catalogWarehouse', kind: 'string', default: null, description: 'Warehouse name or location sent to the REST catalog\'s /v1/config (some catalogs serve several); unset sends none.' },
  { name: 'ZOMBI_CATALOG_TOKEN', field: 'catalogToken', kind: 'string', default: null, description: 'Bearer token for the REST catalog; not with ZOMBI_CATALOG_CREDENTIAL.' },
  { name: 'ZOMBI_CATALOG_CREDENTIAL', field: 'catalogCredential', kind: 'string', default: null, description: 'OAuth2 client credentials <client_id>:<client_secret> for the REST catalog; a token is fetched from ZOMBI_CATALOG_OAUTH2_URI and renewed before it expires.' },
  { name: 'ZOMBI_CATALOG_OAUTH2_URI', field: 'catalogOauth2Uri', kind: 'string', default: null, description: 'OAuth2 token endpoint for ZOMBI_CATALOG_CREDENTIAL; defaults to <ZOMBI_CATALOG_URL>/v1/oauth/tokens.' },
  { name: 'ZOMBI_CATALOG_SCOPE', field: 'catalogScope', kind: 'string', default: 'catalog', description: 'OAuth2 scope asked for with ZOMBI_CATALOG_CREDENTIAL.' },
  { name: 'ZOMBI_CATALOG_NAMESPACE', field: 'catalogNamespace', kind: 'string', default: 'zombi', description: 'Iceberg namespace of the topic tables (letters, digits, _ and -).' },
  { name: 'ZOMBI_TARGET_FILE_SIZE_MB', field: 'targetFileBytes', unit: 'MiB', kind: 'integer', default: '128', min: 1, max: 1024, description: 'Target size of Parquet data files: a partition flushes once this many bytes are unflushed, and one flush takes at most this many stored bytes per partition (memory stays bounded).' },
  { name: 'ZOMBI_FLUSH_INTERVAL_SECS', field: 'flushIntervalMs', unit: 'seconds', kind: 'integer', default: '10', min: 0, max: 86400, description: 'Records older than this are flushed to Iceberg; 0 flushes only on size, on request and at shutdown.' },
  { name: 'ZOMBI_FLUSH_WORKERS', field: 'flushWorkers', kind: 'integer', default: '1', min: 1, max: 64, description: 'Worker threads that decode batches and encode Parquet (one partition flush per worker at a time).' },
  { name: 'ZOMBI_RECREATED_TOPIC_TABLE', field: 'recreatedTopicTable', kind: 'enum', default: 'replace', values: ['replace', 'continue'], description: 'A topic deleted and created again with the same name: replace starts the table afresh like REPLACE TABLE (old snapshots stay reachable by time travel, files untouched); continue appends to the same table (offsets start again at 0).' },
  { name: 'ZOMBI_ORPHAN_GRACE_SECS', field: 'orphanGraceMs', unit: 'seconds', kind: 'integer', default: '600', min: 0, max: 31536000, description: 'At start, files that writes interrupted by a crash left in the warehouse (*.zombi-tmp temporaries; data files, manifests and manifest lists that no metadata file of their table references) are removed once last written this long ago. Younger ones are kept in case another writer (a second broker or an external Iceberg tool on the same warehouse) has not committed them yet; raise it if such writers run longer.' },
  { name: 'ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB', field: 'kafkaMaxInflightProduceBytes', unit: 'MiB', kind: 'integer', default: '256', min: 1, max: 65536, description: 'Kafka Produce request bytes read but not yet answered, broker-wide; over it, a connection sending Produce stops being read until half has drained, and Produce responses carry throttle_time_ms.' },
  { name: 'ZOMBI_MAX_INFLIGHT_WRITES', field: 'maxInflightWrites', kind: 'integer', default: '1024', min: 1, max: 1000000, description: 'HTTP writes admitted at once; more get 429 with Retry-After, decided before the body is read.' },
  { name: 'ZOMBI_MAX_INFLIGHT_BYTES_MB', field: 'maxInflightBytes', unit: 'MiB', kind: 'integer', default: '128', min: 1, max: 65536, description: 'HTTP write body bytes admitted at once, released when each write is answered. A body with Content-Length that would pass it gets 429 with Retry-After before it is read; a chunked body is counted as it streams and gets 429 once it would pass it. Also caps the largest write body (see ZOMBI_HTTP_MAX_BODY_MB).' },
  { name: 'ZOMBI_HTTP_MAX_BODY_MB', field: 'httpMaxBodyBytes', unit: 'MiB', kind: 'integer', default: '32', min: 1, max: 1024, description: 'Largest HTTP write body (never more than ZOMBI_MAX_INFLIGHT_BYTES_MB); larger ones get 413. A bulk write of 100,000 records (its maximum) of up to about 300 bytes of JSON each fits the default. Other requests (commits, flushes) take at most 64 KiB.' },
  { name: 'ZOMBI_LOG_LEVEL', field: 'logLevel', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'pino log level.' },
] as const satisfies readonly SettingDefinition[]

export type SettingName = (typeof SETTINGS)[number]['name']
