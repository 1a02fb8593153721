using System.Runtime.InteropServices;

namespace EdgeAgent.Agent.Internal;

/// <summary>
/// The in-memory part of the idempotency cache: idempotency key → (command name, encoded result),
/// in insertion order, at most <c>capacity</c> live entries, with no object per entry.
/// </summary>
/// <remarks>
/// Every command adds an entry that lives for the next <c>capacity</c> commands: long enough to be
/// promoted by the GC, so objects per entry (a key string, a result array) are what make keyed
/// commands expensive for the collector. Here the entries are structs without references in a
/// ring, the key (as UTF-16) and the result are copied into one byte array used as a ring in the
/// same order, and the index is a bucket array chained through the entries. Results larger than
/// <see cref="LargeResult"/> keep their own array, referenced beside the ring. The two rings only
/// ever free their oldest part, so both are plain first-in-first-out buffers; when either is full
/// they are rebuilt together, dropping dead entries (replaced keys) and the gaps they leave. Not
/// thread-safe: the cache locks around it.
/// </remarks>
internal sealed class IdempotencyTable
{
    /// <summary>A result longer than this is kept as its own array instead of in the byte ring.</summary>
    internal const int LargeResult = 8 * 1024;

    private const int MinArena = 4 * 1024;

    private readonly int _capacity;
    private readonly List<string> _names = [];
    private readonly Dictionary<string, int> _nameIds = new(StringComparer.Ordinal);

    private Slot[] _slots;
    private byte[]?[] _large;
    private int[] _buckets; // slot index + 1, 0 for none; chained through Slot.Next
    private int _head;
    private int _count; // used slots, live or dead
    private int _live;

    private long _nextSequence;

    private byte[] _arena;
    private int _arenaHead; // start of the oldest slot's bytes
    private int _arenaTail; // where the next allocation goes

    public IdempotencyTable(int capacity)
    {
        _capacity = Math.Max(1, capacity);
        var slots = (int)Math.Min(2L * _capacity, 64); // grows by doubling: an idle agent holds a few KiB
        _slots = new Slot[slots];
        _large = new byte[]?[slots];
        _buckets = new int[BucketCount(slots)];
        _arena = new byte[MinArena];
    }

    /// <summary>Live entries.</summary>
    public int Count => _live;

    /// <summary>Finds <paramref name="key"/>. A result kept in the byte ring is copied out; a large one is returned as kept.</summary>
    public bool TryGet(string key, out string commandName, out byte[] result)
    {
        var slot = Find(key, key.GetHashCode());
        if (slot < 0)
        {
            commandName = "";
            result = [];
            return false;
        }

        ref var entry = ref _slots[slot];
        commandName = _names[entry.NameId];
        result = _large[slot] is { } large ? large : _arena.AsSpan(entry.Offset + entry.KeyBytes, entry.ResultBytes).ToArray();
        return true;
    }

    /// <summary>
    /// Adds or replaces an entry as the newest, evicting the oldest beyond the capacity. A small
    /// result is copied; a large one is kept as the array given (it must not change afterwards).
    /// </summary>
    public void Add(string key, string commandName, byte[] result, long createdUnixMs)
    {
        var hash = key.GetHashCode();
        var existing = Find(key, hash);
        if (existing >= 0)
        {
            Kill(existing);
        }

        var keyBytes = MemoryMarshal.AsBytes(key.AsSpan());
        var large = result.Length > LargeResult;
        var size = Align(keyBytes.Length + (large ? 0 : result.Length));
        var slotsFull = _count == _slots.Length;
        if (slotsFull || !TryAllocate(size, out var offset))
        {
            // A full ring holds at most _capacity live entries in up to twice as many slots, so a
            // rebuild at the largest size frees at least half of it: O(1) per entry added.
            Rebuild(slotsFull ? (int)Math.Min(2L * _capacity, 2L * _slots.Length) : _slots.Length, LiveBytes() + size);
            TryAllocate(size, out offset);
        }

        var index = (_head + _count) % _slots.Length;
        keyBytes.CopyTo(_arena.AsSpan(offset));
        if (large)
        {
            _large[index] = result;
        }
        else
        {
            result.CopyTo(_arena.AsSpan(offset + keyBytes.Length));
        }

        var bucket = hash & (_buckets.Length - 1);
        _slots[index] = new Slot
        {
            Hash = hash,
            Next = _buckets[bucket],
            Offset = offset,
            KeyBytes = keyBytes.Length,
            ResultBytes = result.Length,
            Size = size,
            NameId = NameId(commandName),
            CreatedUnixMs = createdUnixMs,
            Sequence = _nextSequence++,
            Live = true,
        };
        _buckets[bucket] = index + 1;
        _count++;
        _live++;

        while (_live > _capacity)
        {
            RemoveOldest();
        }
    }

    /// <summary>Forgets the entries created before <paramref name="cutoffUnixMs"/> (and dead slots at the head).</summary>
    public void Expire(long cutoffUnixMs)
    {
        while (_count > 0 && (!_slots[_head].Live || _slots[_head].CreatedUnixMs < cutoffUnixMs))
        {
            RemoveOldest();
        }
    }

    /// <summary>The sequence number the next <see cref="Add"/> gets (entries are numbered in insertion order).</summary>
    public long NextSequence => _nextSequence;

    /// <summary>
    /// Calls <paramref name="visit"/> for the live entries numbered from <paramref name="from"/> up
    /// to (not including) <paramref name="before"/>, oldest first, until it returns false. Returns
    /// the number to continue from: after the last entry visited, or <paramref name="before"/> when
    /// none is left. Between calls the table may change: entries removed meanwhile are skipped,
    /// entries added meanwhile are numbered from <see cref="NextSequence"/> on.
    /// </summary>
    public long ForEach<TState>(TState state, long from, long before, EntryVisitor<TState> visit)
    {
        // The ring is in insertion order, dead slots included: find the first number ≥ from.
        int low = 0, high = _count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_slots[(_head + middle) % _slots.Length].Sequence < from)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        for (var i = low; i < _count; i++)
        {
            var index = (_head + i) % _slots.Length;
            ref var entry = ref _slots[index];
            if (entry.Sequence >= before)
            {
                break;
            }

            if (!entry.Live)
            {
                continue;
            }

            var key = MemoryMarshal.Cast<byte, char>(_arena.AsSpan(entry.Offset, entry.KeyBytes));
            var result = _large[index] is { } large ? large : _arena.AsSpan(entry.Offset + entry.KeyBytes, entry.ResultBytes);
            if (!visit(state, key, _names[entry.NameId], entry.CreatedUnixMs, result))
            {
                return entry.Sequence + 1;
            }
        }

        return before;
    }

    private int Find(string key, int hash)
    {
        var keyBytes = MemoryMarshal.AsBytes(key.AsSpan());
        for (var next = _buckets[hash & (_buckets.Length - 1)]; next != 0; next = _slots[next - 1].Next)
        {
            ref var entry = ref _slots[next - 1];
            if (entry.Hash == hash && entry.KeyBytes == keyBytes.Length && _arena.AsSpan(entry.Offset, entry.KeyBytes).SequenceEqual(keyBytes))
            {
                return next - 1;
            }
        }

        return -1;
    }

    /// <summary>Takes a live slot out of the index; its space is freed when it reaches the head.</summary>
    private void Kill(int index)
    {
        ref var entry = ref _slots[index];
        ref var link = ref _buckets[entry.Hash & (_buckets.Length - 1)];
        while (link != index + 1)
        {
            link = ref _slots[link - 1].Next;
        }

        link = entry.Next;
        entry.Live = false;
        _large[index] = null;
        _live--;
    }

    private void RemoveOldest()
    {
        if (_slots[_head].Live)
        {
            Kill(_head);
        }

        _slots[_head] = default;
        _head = (_head + 1) % _slots.Length;
        _count--;
        if (_count == 0)
        {
            _head = 0;
            _arenaHead = 0;
            _arenaTail = 0;
        }
        else
        {
            _arenaHead = _slots[_head].Offset;
        }
    }

    /// <summary>Takes <paramref name="size"/> bytes at the arena's tail, wrapping to its start when the end has no room.</summary>
    private bool TryAllocate(int size, out int offset)
    {
        // An empty table has its arena positions at 0 (RemoveOldest and Rebuild reset them).
        var wrapped = _count > 0 && _arenaTail <= _arenaHead;
        if (!wrapped && _arena.Length - _arenaTail >= size)
        {
            offset = _arenaTail;
        }
        else if (!wrapped && _arenaHead > size)
        {
            offset = 0; // the end's leftover is skipped until the head passes it
        }
        else if (wrapped && _arenaHead - _arenaTail >= size)
        {
            offset = _arenaTail;
        }
        else
        {
            offset = -1;
            return false;
        }

        _arenaTail = offset + size;
        return true;
    }

    private int LiveBytes()
    {
        var bytes = 0;
        for (var i = 0; i < _count; i++)
        {
            ref var entry = ref _slots[(_head + i) % _slots.Length];
            if (entry.Live)
            {
                bytes += entry.Size;
            }
        }

        return bytes;
    }

    /// <summary>Moves the live entries, oldest first, into rings of the given sizes (the arena half as large again as they need).</summary>
    private void Rebuild(int slotCount, int neededBytes)
    {
        var slots = new Slot[slotCount];
        var large = new byte[]?[slotCount];
        var buckets = new int[BucketCount(slotCount)];
        var arena = new byte[Math.Max(MinArena, (int)Math.Min(Array.MaxLength, neededBytes + (neededBytes / 2L)))];
        var live = 0;
        var tail = 0;
        for (var i = 0; i < _count; i++)
        {
            var from = (_head + i) % _slots.Length;
            var entry = _slots[from];
            if (!entry.Live)
            {
                continue;
            }

            _arena.AsSpan(entry.Offset, entry.Size).CopyTo(arena.AsSpan(tail));
            entry.Offset = tail;
            var bucket = entry.Hash & (buckets.Length - 1);
            entry.Next = buckets[bucket];
            buckets[bucket] = live + 1;
            slots[live] = entry;
            large[live] = _large[from];
            tail += entry.Size;
            live++;
        }

        _slots = slots;
        _large = large;
        _buckets = buckets;
        _arena = arena;
        _head = 0;
        _count = live;
        _arenaHead = 0;
        _arenaTail = tail;
    }

    private int NameId(string name)
    {
        if (!_nameIds.TryGetValue(name, out var id))
        {
            id = _names.Count;
            _names.Add(name);
            _nameIds.Add(name, id);
        }

        return id;
    }

    private static int Align(int size) => (size + 7) & ~7;

    private static int BucketCount(int slots) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)slots * 2);

    /// <summary>Receives one live entry (its key and result are valid only during the call).</summary>
    /// <returns>False to stop after this entry.</returns>
    public delegate bool EntryVisitor<TState>(TState state, ReadOnlySpan<char> key, string commandName, long createdUnixMs, ReadOnlySpan<byte> result);

    private struct Slot
    {
        public int Hash;
        public int Next;
        public int Offset;
        public int KeyBytes;
        public int ResultBytes;
        public int Size;
        public int NameId;
        public long CreatedUnixMs;
        public long Sequence;
        public bool Live;
    }
}
