using System.Buffers.Binary;

namespace EdgeAgent.Protocol.Tests.Frames;

/// <summary>Seeded mutations of valid frames: bit flips, inserts, deletes, truncation, length tampering, interesting bytes.</summary>
internal static class Mutator
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xc0, 0xc1, 0xc4, 0xc6, 0xcf, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 0x90, 0x9f, 0x80, 0x8f];

    /// <summary>
    /// Iterations of the fuzz tests. EDGEAGENT_FUZZ_ITERATIONS overrides the default (for example
    /// <c>EDGEAGENT_FUZZ_ITERATIONS=20000000 dotnet test --filter Fuzz</c> for a long run);
    /// EDGEAGENT_FUZZ_SEED picks another seed (each failure message names the seed it used).
    /// </summary>
    public static int Iterations(int defaultIterations) =>
        int.TryParse(Environment.GetEnvironmentVariable("EDGEAGENT_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : defaultIterations;

    public static int Seed(int defaultSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable("EDGEAGENT_FUZZ_SEED"), out var s) ? s : defaultSeed;

    /// <summary>Applies one to three mutations to a copy of <paramref name="frame"/>.</summary>
    public static byte[] Mutate(byte[] frame, Random random)
    {
        var bytes = new List<byte>(frame);
        var count = 1 + random.Next(3);
        for (var m = 0; m < count; m++)
        {
            switch (random.Next(8))
            {
                case 0 when bytes.Count > 0: // flip one bit
                    var at = random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // insert random bytes
                    var insert = new byte[1 + random.Next(8)];
                    random.NextBytes(insert);
                    bytes.InsertRange(random.Next(bytes.Count + 1), insert);
                    break;
                case 2 when bytes.Count > 0: // delete a range
                    var from = random.Next(bytes.Count);
                    bytes.RemoveRange(from, Math.Min(bytes.Count - from, 1 + random.Next(8)));
                    break;
                case 3: // truncate
                    var cut = random.Next(bytes.Count + 1);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 4 when bytes.Count >= 4: // tamper with the length prefix
                    var length = BinaryPrimitives.ReadUInt32BigEndian([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    length = random.Next(4) switch
                    {
                        0 => (uint)random.Next(),
                        1 => length + (uint)random.Next(-8, 9),
                        2 => 0,
                        _ => uint.MaxValue - (uint)random.Next(16),
                    };
                    var prefix = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(prefix, length);
                    for (var i = 0; i < 4; i++)
                    {
                        bytes[i] = prefix[i];
                    }

                    break;
                case 5 when bytes.Count > 4: // an interesting MessagePack code in the envelope
                    bytes[4 + random.Next(bytes.Count - 4)] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 6 when bytes.Count > 0: // overwrite a random byte
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                    break;
                case 7: // duplicate a slice (repeated fields, repeated frames)
                    if (bytes.Count > 0)
                    {
                        var start = random.Next(bytes.Count);
                        var slice = bytes.GetRange(start, Math.Min(bytes.Count - start, 1 + random.Next(16)));
                        bytes.InsertRange(random.Next(bytes.Count + 1), slice);
                    }

                    break;
            }
        }

        return [.. bytes];
    }
}
