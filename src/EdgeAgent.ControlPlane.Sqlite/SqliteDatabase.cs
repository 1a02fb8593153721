using Microsoft.Data.Sqlite;

namespace EdgeAgent.ControlPlane.Sqlite;

/// <summary>
/// Opens connections to the control plane's SQLite database and creates the schema on first use.
/// WAL mode with <c>synchronous=NORMAL</c>: a committed write survives a crash of the process
/// (the durability the control plane promises); an OS crash may lose the last transactions.
/// </summary>
internal sealed class SqliteDatabase
{
    private const int SchemaVersion = 1;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _initialized = new(1, 1);
    private readonly SemaphoreSlim _writer = new(1, 1);
    private volatile bool _ready;

    public SqliteDatabase(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true };
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource == ":memory:")
        {
            throw new ArgumentException("Use a file for the SQLite store (the in-memory store serves tests).", nameof(connectionString));
        }

        _connectionString = builder.ToString();
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", cancellationToken);
        if (!_ready)
        {
            await InitializeAsync(connection, cancellationToken);
        }

        return connection;
    }

    /// <summary>
    /// Takes the process's single write turn. SQLite admits one writer at a time, and a writer
    /// that finds the lock taken waits in the busy handler (sleeping and retrying), which under
    /// load turns into seconds of latency; queuing for the turn here instead keeps writes FIFO
    /// and the database lock uncontended. Readers (WAL) do not take it.
    /// </summary>
    public async Task<WriteTurn> EnterWriterAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        return new WriteTurn(_writer);
    }

    private async Task InitializeAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await _initialized.WaitAsync(cancellationToken);
        try
        {
            if (_ready)
            {
                return;
            }

            await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
            await ExecuteAsync(connection, $"""
                CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL);
                INSERT INTO schema_info (version) SELECT {SchemaVersion} WHERE NOT EXISTS (SELECT 1 FROM schema_info);
                CREATE TABLE IF NOT EXISTS agents (
                    id TEXT PRIMARY KEY,
                    name TEXT NULL,
                    labels TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    secret_hash TEXT NOT NULL,
                    previous_secret_hash TEXT NULL,
                    previous_secret_expires_at INTEGER NULL,
                    revoked_at INTEGER NULL,
                    last_connected_at INTEGER NULL);
                CREATE TABLE IF NOT EXISTS audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    ts INTEGER NOT NULL,
                    event TEXT NOT NULL,
                    caller TEXT NULL,
                    agent_id TEXT NULL,
                    command TEXT NULL,
                    args_digest TEXT NULL,
                    idempotency_key TEXT NULL,
                    outcome TEXT NULL,
                    duration_ms REAL NULL,
                    detail TEXT NULL);
                CREATE INDEX IF NOT EXISTS audit_agent ON audit (agent_id, id);
                CREATE INDEX IF NOT EXISTS audit_caller ON audit (caller, id);
                CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
                CREATE TABLE IF NOT EXISTS stacks (
                    agent_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    request BLOB NOT NULL,
                    remove INTEGER NOT NULL,
                    remove_volumes INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (agent_id, name));
                """, cancellationToken);
            _ready = true;
        }
        finally
        {
            _initialized.Release();
        }
    }

    public static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static long ToUnixMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    /// <summary>Releases the write turn when disposed.</summary>
    internal readonly struct WriteTurn(SemaphoreSlim writer) : IDisposable
    {
        public void Dispose() => writer.Release();
    }
}
