using System.Security.Cryptography;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>
/// Generates the idempotency keys of commands sent without one: 128 bits from the operating
/// system's cryptographically secure generator, as 32 lower-case hex digits (the length and
/// alphabet of a <see cref="Guid"/> formatted with "N").
/// </summary>
/// <remarks>
/// A key must be unguessable, not just unique: the agent answers a repeated key with the result
/// remembered for it, so a caller who could predict another caller's key could read that
/// command's result. <see cref="Guid.NewGuid"/> asks the kernel for 16 bytes on every call (a
/// system call per command); this draws 4 KiB at a time into a per-thread pool and hands out 16
/// bytes of it per key, each byte once.
/// </remarks>
internal static class IdempotencyKeys
{
    private const int KeyBytes = 16;
    private const int PoolBytes = 4096;

    [ThreadStatic]
    private static byte[]? t_pool;

    [ThreadStatic]
    private static int t_next;

    /// <summary>A new key.</summary>
    public static string New()
    {
        var pool = t_pool;
        if (pool is null || t_next > PoolBytes - KeyBytes)
        {
            pool = t_pool ??= new byte[PoolBytes];
            RandomNumberGenerator.Fill(pool);
            t_next = 0;
        }

        var key = pool.AsSpan(t_next, KeyBytes);
        t_next += KeyBytes;
        var text = Convert.ToHexStringLower(key);
        key.Clear(); // a handed-out key is not kept
        return text;
    }
}
