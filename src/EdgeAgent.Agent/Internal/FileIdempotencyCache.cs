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
/// grows to twice the capacity.
/// </summary>
/// <remarks>
/// Appends are group-committed without blocking threads. Under <c>_gate</c> a caller adds its entry
/// to the map and encodes its record into the pending buffer. If no write is in progress it becomes
/// the writer and writes every pending record in one write call, inline; otherwise it waits (on a
/// task shared by its batch) for the writer to write its batch. A writer that finds more records
/// queued when it is done hands the writing on to a thread-pool work item, which also runs the
/// compaction. Lookups never wait for the disk. A record has reached the OS when its task
/// completes, exactly as with one write per record; only the number of write calls changes.
/// </remarks>
internal sealed class FileIdempotencyCache : IIdempotencyCache, IDisposable
{
    private const string FileName = "idempotency.log";

    private readonly object _gate = new();

    // The entries in insertion order, in a ring of structs (oldest at _head), and an index from key
    // to ring position. No object per entry besides its key and response: every command adds an
    // entry that lives long enough to be promoted by the GC, so per-entry objects are what make
    // keyed commands expensive for the collector. A replaced entry leaves a dead slot (null key).
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private Entry[] _ring;
    private int _head;
    private int _count;
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

    // Only the writer touches these.
    private int _appendedSinceCompaction;
    private long _appendWrites;

    public FileIdempotencyCache(string? directory, int capacity, TimeSpan retention, TimeProvider time)
    {
        _capacity = Math.Max(1, capacity);
        _retention = retention;
        _time = time;
        _ring = new Entry[Math.Min(_capacity, 1024)];
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
                return _index.Count;
            }
        }
    }

    /// <summary>How many write calls appended records (under concurrency, fewer than the records).</summary>
    internal long AppendWrites => Interlocked.Read(ref _appendWrites);

    public bool TryGet(string key, out string commandName, out byte[] response)
    {
        lock (_gate)
        {
            Expire();
            if (_index.TryGetValue(key, out var position))
            {
                commandName = _ring[position].Name;
                response = _ring[position].Response;
                return true;
            }
        }

        commandName = "";
        response = [];
        return false;
    }

    public ValueTask SetAsync(string key, string commandName, byte[] response)
    {
        var entry = new Entry(key, commandName, response, _time.GetUtcNow().ToUnixTimeMilliseconds());
        lock (_gate)
        {
            Add(entry);
            if (_path is null || _disposed)
            {
                return default;
            }

            Encode(_pending, entry);
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
                log.Write(batch.WrittenSpan);
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

    /// <summary>Stops being the writer, or hands the writing on when records are queued or a compaction is due.</summary>
    private void HandOff()
    {
        lock (_gate)
        {
            if ((_pending.WrittenCount == 0 && _appendedSinceCompaction <= _capacity) || _disposed)
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
                if (_appendedSinceCompaction > _capacity && !Volatile.Read(ref _disposed))
                {
                    Compact();
                }

                lock (_gate)
                {
                    if (_pending.WrittenCount == 0 || _disposed)
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

    private void Add(Entry entry)
    {
        if (_index.TryGetValue(entry.Key!, out var existing))
        {
            _ring[existing] = _ring[existing] with { Key = null };
        }

        if (_count == _ring.Length)
        {
            if (_ring.Length < _capacity)
            {
                Grow();
            }
            else
            {
                RemoveOldest();
            }
        }

        var tail = (_head + _count) % _ring.Length;
        _ring[tail] = entry;
        _count++;
        _index[entry.Key!] = tail;
        while (_index.Count > _capacity)
        {
            RemoveOldest();
        }

        Expire();
    }

    private void Expire()
    {
        var cutoff = (_time.GetUtcNow() - _retention).ToUnixTimeMilliseconds();
        while (_count > 0 && (_ring[_head].Key is null || _ring[_head].CreatedUnixMs < cutoff))
        {
            RemoveOldest();
        }
    }

    private void RemoveOldest()
    {
        if (_ring[_head].Key is { } key)
        {
            _index.Remove(key);
        }

        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        _count--;
    }

    private void Grow()
    {
        var ring = new Entry[(int)Math.Min(_capacity, 2L * _ring.Length)];
        for (var i = 0; i < _count; i++)
        {
            ring[i] = _ring[(_head + i) % _ring.Length];
            if (ring[i].Key is { } key)
            {
                _index[key] = i;
            }
        }

        _ring = ring;
        _head = 0;
    }

    private List<Entry> Live()
    {
        var live = new List<Entry>(_index.Count);
        for (var i = 0; i < _count; i++)
        {
            if (_ring[(_head + i) % _ring.Length] is { Key: not null } entry)
            {
                live.Add(entry);
            }
        }

        return live;
    }

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
                Add(new Entry(key, name, response, created));
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
    /// constructor or as the writer, so no append runs meanwhile; lookups and new entries go on (an
    /// entry added after the snapshot stays pending and is written to the new file next).
    /// </summary>
    private void Compact()
    {
        if (_path is null)
        {
            return;
        }

        List<Entry> live;
        TaskCompletionSource? waiters;
        lock (_gate)
        {
            live = Live();

            // The pending records are in the snapshot: they are written with it.
            _pending.ResetWrittenCount();
            waiters = _batchWritten;
            _batchWritten = null;
        }

        try
        {
            var body = new ArrayBufferWriter<byte>(64 * 1024);
            var temp = _path + ".tmp";
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                foreach (var entry in live)
                {
                    Encode(body, entry);
                    if (body.WrittenCount >= 60 * 1024)
                    {
                        stream.Write(body.WrittenSpan);
                        body.ResetWrittenCount();
                    }
                }

                stream.Write(body.WrittenSpan);
                stream.Flush(flushToDisk: true);
            }

            _log?.Dispose();
            File.Move(temp, _path, overwrite: true);
            _log = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
            _appendedSinceCompaction = 0;
        }
        catch (Exception ex)
        {
            waiters?.SetException(ex);
            throw;
        }

        waiters?.SetResult();
    }

    /// <summary>Encodes one record: a 4-byte big-endian length, then the MessagePack body.</summary>
    private static void Encode(ArrayBufferWriter<byte> buffer, Entry entry)
    {
        var start = buffer.WrittenCount;
        buffer.GetSpan(4);
        buffer.Advance(4);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write(entry.Key!);
        writer.Write(entry.Name);
        writer.Write(entry.CreatedUnixMs);
        writer.Write(entry.Response);
        writer.Flush();
        var length = buffer.WrittenCount - start - 4;
        BinaryPrimitives.WriteInt32BigEndian(MemoryMarshal.AsMemory(buffer.WrittenMemory).Span.Slice(start, 4), length);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            while (_writing)
            {
                Monitor.Wait(_gate); // let a running write or compaction finish before the file is closed
            }
        }

        _log?.Dispose();
    }

    /// <summary>One remembered result; <see cref="Key"/> is null in a dead slot.</summary>
    private readonly record struct Entry(string? Key, string Name, byte[] Response, long CreatedUnixMs);
}
