using System.Buffers;
using MessagePack;

namespace EdgeAgent.ControlPlane.Storage;

/// <summary>
/// The audit trail of a control plane without a durable store: the most recent records, in a ring
/// of fixed size. Ids keep counting across what was dropped, so a reader paging with
/// <see cref="EdgeAuditQuery.AfterId"/> sees a gap, never a repeated or renumbered record.
/// </summary>
/// <remarks>
/// Records are kept encoded in one preallocated array of fixed-size slots (a longer record gets
/// an array of its own), not as objects: every command appends a record that outlives several
/// young-generation collections, and as objects (the record, its key and digest strings) they
/// were most of what each collection had to copy. Queries decode what they return.
/// </remarks>
internal sealed class InMemoryAuditStore : IEdgeAuditStore
{
    /// <summary>How many records are kept by default.</summary>
    public const int DefaultCapacity = 10_000;

    /// <summary>The bytes of one slot; a typical command record takes about 150.</summary>
    private const int SlotSize = 256;

    private readonly int _capacity;
    private readonly byte[] _slots;
    private readonly int[] _lengths;
    private readonly byte[]?[] _spilled;
    private readonly ArrayBufferWriter<byte> _scratch = new(SlotSize);
    private long _lastId;   // the id of the newest record; the oldest kept is _lastId - _count + 1
    private int _count;

    public InMemoryAuditStore()
        : this(DefaultCapacity)
    {
    }

    internal InMemoryAuditStore(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _slots = new byte[capacity * SlotSize];
        _lengths = new int[capacity];
        _spilled = new byte[]?[capacity];
    }

    public Task<EdgeAuditRecord> AppendAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_slots)
        {
            record = record with { Id = ++_lastId };
            var index = (int)(record.Id % _capacity);
            _scratch.ResetWrittenCount();
            Encode(_scratch, record);
            var encoded = _scratch.WrittenSpan;
            _lengths[index] = encoded.Length;
            if (encoded.Length <= SlotSize)
            {
                encoded.CopyTo(_slots.AsSpan(index * SlotSize, SlotSize));
                _spilled[index] = null;
            }
            else
            {
                _spilled[index] = encoded.ToArray();
            }

            _count = Math.Min(_count + 1, _capacity);
        }

        return Task.FromResult(record);
    }

    public Task<IReadOnlyList<EdgeAuditRecord>> QueryAsync(EdgeAuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var size = Math.Clamp(query.PageSize, 1, 1000);
        var page = new List<EdgeAuditRecord>(Math.Min(size, 64));
        lock (_slots)
        {
            var oldest = _lastId - _count + 1;
            for (var id = Math.Max(oldest, query.AfterId + 1); id <= _lastId && page.Count < size; id++)
            {
                var index = (int)(id % _capacity);
                var bytes = _spilled[index] is { } spilled ? spilled.AsMemory() : _slots.AsMemory(index * SlotSize, _lengths[index]);
                var r = Decode(bytes, id);
                if ((query.AgentId is null || r.AgentId == query.AgentId)
                    && (query.Caller is null || r.Caller == query.Caller)
                    && (query.From is null || r.Timestamp >= query.From)
                    && (query.To is null || r.Timestamp < query.To))
                {
                    page.Add(r);
                }
            }
        }

        return Task.FromResult<IReadOnlyList<EdgeAuditRecord>>(page);
    }

    private static void Encode(IBufferWriter<byte> output, EdgeAuditRecord record)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(11);
        writer.Write(record.Timestamp.UtcTicks);
        writer.Write((short)record.Timestamp.Offset.TotalMinutes);
        writer.Write(record.Event);
        writer.Write(record.Caller);
        writer.Write(record.AgentId);
        writer.Write(record.Command);
        writer.Write(record.ArgumentsDigest);
        writer.Write(record.IdempotencyKey);
        writer.Write(record.Outcome);
        if (record.DurationMs is { } duration)
        {
            writer.Write(duration);
        }
        else
        {
            writer.WriteNil();
        }

        writer.Write(record.Detail);
        writer.Flush();
    }

    private static EdgeAuditRecord Decode(ReadOnlyMemory<byte> bytes, long id)
    {
        var reader = new MessagePackReader(bytes);
        reader.ReadArrayHeader();
        var ticks = reader.ReadInt64();
        var offset = TimeSpan.FromMinutes(reader.ReadInt16());
        return new EdgeAuditRecord
        {
            Id = id,
            Timestamp = new DateTimeOffset(ticks + offset.Ticks, offset),
            Event = reader.ReadString() ?? "",
            Caller = reader.ReadString(),
            AgentId = reader.ReadString(),
            Command = reader.ReadString(),
            ArgumentsDigest = reader.ReadString(),
            IdempotencyKey = reader.ReadString(),
            Outcome = reader.ReadString(),
            DurationMs = reader.TryReadNil() ? null : reader.ReadDouble(),
            Detail = reader.ReadString(),
        };
    }
}
