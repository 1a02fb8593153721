using System.Buffers;
using System.Buffers.Binary;
using EdgeAgent.Protocol.Rpc;
using MessagePack;

namespace EdgeAgent.Agent.Internal;

/// <summary>
/// Remembers command results by idempotency key, bounded by count and age, and persisted to an
/// append-only file so that a restarted agent does not run a command it already ran. Each record
/// is written (to the OS, not fsynced) before the result is sent; a torn last record is dropped
/// on load; the file is compacted when it grows to twice the capacity.
/// </summary>
internal sealed class FileIdempotencyCache : IIdempotencyCache, IDisposable
{
    private const string FileName = "idempotency.log";

    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _order = new();
    private readonly int _capacity;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly string? _path;
    private FileStream? _log;
    private int _appendedSinceCompaction;

    public FileIdempotencyCache(string? directory, int capacity, TimeSpan retention, TimeProvider time)
    {
        _capacity = Math.Max(1, capacity);
        _retention = retention;
        _time = time;
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
                return _entries.Count;
            }
        }
    }

    public bool TryGet(string key, out string commandName, out byte[] response)
    {
        lock (_gate)
        {
            Expire();
            if (_entries.TryGetValue(key, out var node))
            {
                commandName = node.Value.Name;
                response = node.Value.Response;
                return true;
            }
        }

        commandName = "";
        response = [];
        return false;
    }

    public void Set(string key, string commandName, byte[] response)
    {
        var entry = new Entry(key, commandName, response, _time.GetUtcNow().ToUnixTimeMilliseconds());
        lock (_gate)
        {
            Add(entry);
            if (_log is not null)
            {
                Append(_log, entry);
                _log.Flush(flushToDisk: false);
                if (++_appendedSinceCompaction > _capacity)
                {
                    Compact();
                }
            }
        }
    }

    private void Add(Entry entry)
    {
        if (_entries.TryGetValue(entry.Key, out var existing))
        {
            _order.Remove(existing);
        }

        _entries[entry.Key] = _order.AddLast(entry);
        while (_entries.Count > _capacity && _order.First is { } oldest)
        {
            _order.RemoveFirst();
            _entries.Remove(oldest.Value.Key);
        }

        Expire();
    }

    private void Expire()
    {
        var cutoff = (_time.GetUtcNow() - _retention).ToUnixTimeMilliseconds();
        while (_order.First is { } oldest && oldest.Value.CreatedUnixMs < cutoff)
        {
            _order.RemoveFirst();
            _entries.Remove(oldest.Value.Key);
        }
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

    /// <summary>Rewrites the file with only the live entries (temp file + atomic rename).</summary>
    private void Compact()
    {
        if (_path is null)
        {
            return;
        }

        _log?.Dispose();
        var temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var entry in _order)
            {
                Append(stream, entry);
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
        _log = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _appendedSinceCompaction = 0;
    }

    /// <summary>Writes one record: a 4-byte big-endian length, then the MessagePack body.</summary>
    private static void Append(Stream stream, Entry entry)
    {
        var body = new ArrayBufferWriter<byte>(64 + entry.Response.Length);
        var writer = new MessagePackWriter(body);
        writer.WriteArrayHeader(4);
        writer.Write(entry.Key);
        writer.Write(entry.Name);
        writer.Write(entry.CreatedUnixMs);
        writer.Write(entry.Response);
        writer.Flush();
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, body.WrittenCount);
        stream.Write(prefix);
        stream.Write(body.WrittenSpan);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private sealed record Entry(string Key, string Name, byte[] Response, long CreatedUnixMs);
}
