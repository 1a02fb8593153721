using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeAgent.Protocol.Rpc;
using MessagePack;

namespace EdgeAgent.Agent.Internal;

/// <summary>
/// Remembers command results by idempotency key, bounded by count and age, and persisted to an
/// append-only file so that a restarted agent does not run a command it already ran. Each record
/// is written (to the OS, not fsynced) before the task of <see cref="SetAsync"/> completes, so
/// before the result is sent; a torn last record is dropped on load; the file is compacted when it
/// holds three times the capacity in records.
/// </summary>
/// <remarks>
/// Appends are group-committed without blocking threads. Under <c>_gate</c> a caller adds its entry
/// to the map and encodes its record into the pending buffer. If no write is in progress it becomes
/// the writer and writes every pending record in one write call, inline; otherwise it waits (on a
/// task shared by its batch) for the writer to write its batch. A writer that finds more records
/// queued when it is done hands the writing on to a thread-pool work item. Lookups never wait for
/// the disk. A record has reached the OS when its task completes, exactly as with one write per
/// record; only the number of write calls changes.
/// <para>
/// Compaction does not stop the appends. The writer notes the number the next entry will get and
/// the log's length; a thread-pool work item writes the live entries numbered before it to a
/// temporary file (encoding them under the lock a chunk at a time, so no copy of the table is
/// made) and fsyncs it while appends go on into the old log. Then, as the writer again (for the
/// time it takes to copy the records appended meanwhile), it copies the old log's bytes past the
/// noted length onto the new file and renames it over the log. A record still pending when the
/// compaction started is both in the new file's first part and in the copied tail; loading keeps
/// the later one, which is the same.
/// </para>
/// </remarks>
internal sealed class FileIdempotencyCache : IIdempotencyCache, IDisposable
{
    private const string FileName = "idempotency.log";

    private readonly object _gate = new();

    // The entries, with no object per entry (see IdempotencyTable).
    private readonly IdempotencyTable _table;
    private readonly int _capacity;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly string? _path;
    private FileStream? _log;

    // Under _gate: records encoded but not yet written, the task their callers wait on, and
    // whether a writer is running. The writer swaps _pending with _spare and writes outside the lock.
    private ArrayBufferWriter<byte> _pending = new(4096);
    private ArrayBufferWriter<byte> _spare = new(4096);
    private TaskCompletionSource? _batchWritten;
    private bool _writing;
    private bool _disposed;

    // Under _gate: a compaction is running in the background (from its start until its swap),
    // and the one whose new file is written and that waits for the writer to swap it in.
    private bool _compacting;
    private long _compactionRetryAt; // after a failed compaction: how many appends before the next try
    private Compaction? _readyToSwap;

    // Only the writer touches these.
    private int _appendedSinceCompaction;
    private long _logLength;
    private long _appendWrites;
    private long _compactions;

    public FileIdempotencyCache(string? directory, int capacity, TimeSpan retention, TimeProvider time)
    {
        _capacity = Math.Max(1, capacity);
        _retention = retention;
        _time = time;
        _table = new IdempotencyTable(_capacity);
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
            _path = Path.Combine(directory, FileName);
            Load();
            Compact();
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _table.Count;
            }
        }
    }

    /// <summary>How many write calls appended records (under concurrency, fewer than the records).</summary>
    internal long AppendWrites => Interlocked.Read(ref _appendWrites);

    /// <summary>How many background compactions have replaced the log.</summary>
    internal long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>Test hook: runs in the background compaction after the new file is written, before the swap.</summary>
    internal Action? BeforeSwap { get; set; }

    /// <summary>Test hook: runs in the writer before each batch is written.</summary>
    internal Action? BeforeWrite { get; set; }

    /// <summary>How many compactions were started (successful or not).</summary>
    internal long CompactionAttempts => Interlocked.Read(ref _compactionAttempts);

    private long _compactionAttempts;

    /// <summary>The writer reads it under <c>_gate</c>. A failed compaction is retried after another capacity of appends, not on every one.</summary>
    private bool CompactionDue => _appendedSinceCompaction > 2 * _capacity && _appendedSinceCompaction >= _compactionRetryAt;

    public bool TryGet(string key, out string commandName, out byte[] response)
    {
        lock (_gate)
        {
            Expire();
            return _table.TryGet(key, out commandName, out response);
        }
    }

    public ValueTask SetAsync(string key, string commandName, byte[] response)
    {
        var created = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            _table.Add(key, commandName, response, created);
            Expire();
            if (_path is null || _disposed)
            {
                return default;
            }

            Encode(_pending, key, commandName, created, response);
            if (_writing)
            {
                _batchWritten ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return new ValueTask(_batchWritten.Task);
            }

            _writing = true;
        }

        // This caller is the writer: its record (and any queued with it) is written before it returns.
        try
        {
            WriteBatch();
        }
        finally
        {
            HandOff();
        }

        return default;
    }

    /// <summary>Writes every pending record in one call and completes their waiters. Only the writer calls it.</summary>
    private void WriteBatch()
    {
        ArrayBufferWriter<byte> batch;
        TaskCompletionSource? waiters;
        lock (_gate)
        {
            batch = _pending;
            _pending = _spare;
            _spare = batch;
            waiters = _batchWritten;
            _batchWritten = null;
        }

        try
        {
            if (batch.WrittenCount > 0 && _log is { } log)
            {
                BeforeWrite?.Invoke();
                log.Write(batch.WrittenSpan);
                _logLength += batch.WrittenCount;
                Interlocked.Increment(ref _appendWrites);
                _appendedSinceCompaction += CountRecords(batch.WrittenSpan);
            }
        }
        catch (Exception ex)
        {
            waiters?.SetException(ex);
            throw;
        }
        finally
        {
            batch.ResetWrittenCount();
            if (batch.Capacity > 1024 * 1024)
            {
                _spare = new ArrayBufferWriter<byte>(4096); // don't keep a burst's buffer
            }
        }

        waiters?.SetResult();
    }

    /// <summary>
    /// Stops being the writer, or hands the writing on when records are queued, a compaction is due
    /// or a compacted file waits to be swapped in.
    /// </summary>
    private void HandOff()
    {
        lock (_gate)
        {
            if (_readyToSwap is null && (_disposed || (_pending.WrittenCount == 0 && (_compacting || !CompactionDue))))
            {
                StopWriting();
                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(static cache => cache.WriteLoop(), this, preferLocal: false);
    }

    private void WriteLoop()
    {
        while (true)
        {
            try
            {
                Compaction? ready;
                bool start;
                lock (_gate)
                {
                    ready = _readyToSwap;
                    start = ready is null && !_compacting && !_disposed && CompactionDue;
                }

                if (ready is not null)
                {
                    Swap(ready);
                }
                else if (start)
                {
                    StartCompaction();
                }

                lock (_gate)
                {
                    if (_readyToSwap is null && (_pending.WrittenCount == 0 || _disposed))
                    {
                        StopWriting();
                        return;
                    }
                }

                WriteBatch();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // The waiters of the failed batch got the exception; the next batch tries again.
            }
        }
    }

    /// <summary>Caller holds <c>_gate</c>.</summary>
    private void StopWriting()
    {
        _writing = false;
        Monitor.PulseAll(_gate); // Dispose may be waiting
    }

    private static int CountRecords(ReadOnlySpan<byte> records)
    {
        var count = 0;
        while (records.Length >= 4)
        {
            records = records[(4 + BinaryPrimitives.ReadInt32BigEndian(records))..];
            count++;
        }

        return count;
    }

    private void Expire() => _table.Expire((_time.GetUtcNow() - _retention).ToUnixTimeMilliseconds());

    private void Load()
    {
        if (_path is null || !File.Exists(_path))
        {
            return;
        }

        var bytes = File.ReadAllBytes(_path);
        var offset = 0;
        while (offset + 4 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
            if (length <= 0 || offset + 4 + length > bytes.Length)
            {
                break; // a torn or corrupt tail: everything before it is kept
            }

            try
            {
                var reader = new MessagePackReader(bytes.AsMemory(offset + 4, length));
                if (reader.ReadArrayHeader() < 4)
                {
                    break;
                }

                var key = reader.ReadString() ?? "";
                var name = reader.ReadString() ?? "";
                var created = reader.ReadInt64();
                var response = reader.ReadBytes()?.ToArray() ?? [];
                _table.Add(key, name, response, created);
            }
            catch (MessagePackSerializationException)
            {
                break;
            }
            catch (EndOfStreamException)
            {
                break;
            }

            offset += 4 + length;
        }
    }

    /// <summary>
    /// Rewrites the file with only the live entries (temp file + fsync + atomic rename). Runs in the
    /// constructor, before anything else can touch the cache.
    /// </summary>
    private void Compact()
    {
        if (_path is null)
        {
            return;
        }

        Expire();
        var temp = WriteSnapshot(_table.NextSequence);
        File.Move(temp, _path, overwrite: true);
        _log = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _logLength = _log.Length;
        _appendedSinceCompaction = 0;
    }

    /// <summary>
    /// Writes the live entries numbered before <paramref name="before"/> to a new temporary file,
    /// fsynced, and returns its path. The entries are encoded under the lock a chunk (about 64 KiB)
    /// at a time, so commands wait for at most one chunk, and no copy of the table is made; an entry
    /// removed between chunks is left out, as it should be.
    /// </summary>
    private string WriteSnapshot(long before)
    {
        var temp = _path + ".tmp";
        using var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var body = new ArrayBufferWriter<byte>(SnapshotChunk + 1024);
        for (long next = 0; next < before;)
        {
            lock (_gate)
            {
                next = _table.ForEach(body, next, before, static (body, key, name, created, result) =>
                {
                    Encode(body, key, name, created, result);
                    return body.WrittenCount < SnapshotChunk;
                });
            }

            stream.Write(body.WrittenSpan);
            body.ResetWrittenCount();
        }

        stream.Flush(flushToDisk: true);
        return temp;
    }

    private const int SnapshotChunk = 64 * 1024;

    /// <summary>As the writer: notes the next entry number and the log's length, and compacts in the background.</summary>
    private void StartCompaction()
    {
        long before;
        lock (_gate)
        {
            before = _table.NextSequence;
            _compacting = true;
        }

        Interlocked.Increment(ref _compactionAttempts);

        var compaction = new Compaction(before, _logLength, _appendedSinceCompaction);
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Cache.CompactInBackground(state.Compaction), (Cache: this, Compaction: compaction), preferLocal: false);
    }

    /// <summary>Writes the new file while appends go on, then swaps it in as the writer (or leaves that to the running writer).</summary>
    private void CompactInBackground(Compaction compaction)
    {
        try
        {
            compaction.TempPath = WriteSnapshot(compaction.Before);
            BeforeSwap?.Invoke();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The old log stays; a compaction is tried again after another capacity of appends.
            TryDelete(_path + ".tmp");
            EndCompaction(compaction, succeeded: false);
            return;
        }

        lock (_gate)
        {
            if (_writing)
            {
                _readyToSwap = compaction;
                return;
            }

            _writing = true;
        }

        try
        {
            Swap(compaction);
        }
        finally
        {
            HandOff();
        }
    }

    /// <summary>
    /// As the writer: appends the records written to the old log since the compaction started onto the new
    /// file and renames it over the log. On failure the old log stays in use.
    /// </summary>
    private void Swap(Compaction compaction)
    {
        try
        {
            if (_log is { } old && compaction.TempPath is { } temp && _path is not null)
            {
                using (var target = new FileStream(temp, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 0))
                {
                    using (var source = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
                    {
                        source.Position = compaction.LogLength;
                        source.CopyTo(target, 64 * 1024);
                    }

                    target.Flush();
                }

                // Closed before the rename (Windows does not rename over an open file); reopened
                // whatever happens, so a failed rename leaves the old log in use.
                old.Dispose();
                try
                {
                    File.Move(temp, _path, overwrite: true);
                }
                finally
                {
                    _log = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
                }

                _logLength = _log.Length;
                _appendedSinceCompaction -= compaction.AppendedAtSnapshot;
                compaction.TempPath = null;
                Interlocked.Increment(ref _compactions);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The old log stays in use; a later compaction tries again.
        }
        finally
        {
            var left = compaction.TempPath;
            if (left is not null)
            {
                TryDelete(left);
            }

            EndCompaction(compaction, succeeded: left is null);
        }
    }

    private void EndCompaction(Compaction compaction, bool succeeded)
    {
        lock (_gate)
        {
            if (_readyToSwap == compaction)
            {
                _readyToSwap = null;
            }

            _compactionRetryAt = succeeded ? 0 : compaction.AppendedAtSnapshot + (long)_capacity;
            _compacting = false;
            Monitor.PulseAll(_gate); // Dispose may be waiting
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Encodes one record: a 4-byte big-endian length, then the MessagePack body.</summary>
    private static void Encode(ArrayBufferWriter<byte> buffer, ReadOnlySpan<char> key, string name, long created, ReadOnlySpan<byte> response)
    {
        var start = buffer.WrittenCount;
        buffer.GetSpan(4);
        buffer.Advance(4);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write(key);
        writer.Write(name);
        writer.Write(created);
        writer.Write(response);
        writer.Flush();
        var length = buffer.WrittenCount - start - 4;
        BinaryPrimitives.WriteInt32BigEndian(MemoryMarshal.AsMemory(buffer.WrittenMemory).Span.Slice(start, 4), length);
    }

    public void Dispose()
    {
        ArrayBufferWriter<byte> pending;
        TaskCompletionSource? waiters;
        lock (_gate)
        {
            _disposed = true;
            while (_writing || _compacting)
            {
                Monitor.Wait(_gate); // let a running write or compaction finish before the file is closed
            }

            // A writer that saw _disposed stopped without writing what was queued meanwhile: write
            // it here, or its callers (commands finishing during shutdown) would wait forever.
            pending = _pending;
            waiters = _batchWritten;
            _batchWritten = null;
        }

        try
        {
            if (pending.WrittenCount > 0)
            {
                _log?.Write(pending.WrittenSpan);
            }

            waiters?.TrySetResult();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            waiters?.TrySetException(ex);
        }
        finally
        {
            pending.ResetWrittenCount();
            _log?.Dispose();
        }
    }

    /// <summary>
    /// A background compaction: the entries it writes (those numbered before <see cref="Before"/>),
    /// the log's length and append count when it started, and the new file.
    /// </summary>
    private sealed class Compaction(long before, long logLength, int appendedAtSnapshot)
    {
        public long Before { get; } = before;

        public long LogLength { get; } = logLength;

        public int AppendedAtSnapshot { get; } = appendedAtSnapshot;

        public string? TempPath { get; set; }
    }
}
