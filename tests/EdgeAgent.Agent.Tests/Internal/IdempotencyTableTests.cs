using EdgeAgent.Agent.Internal;

namespace EdgeAgent.Agent.Tests.Internal;

public sealed class IdempotencyTableTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 2)]
    [InlineData(100, 3)]
    [InlineData(3000, 4)]
    public void Random_adds_replacements_and_expiry_match_a_simple_model(int capacity, int seed)
    {
        var random = new Random(seed);
        var table = new IdempotencyTable(capacity);

        // The model: keys in insertion order (a replaced key moves to the end), at most capacity.
        var model = new List<(string Key, string Name, byte[] Result, long Created)>();
        long now = 0;
        for (var step = 0; step < 20_000; step++)
        {
            now += random.Next(0, 3);
            var action = random.Next(100);
            if (action < 70)
            {
                // Mostly fresh keys, sometimes one already present; sizes from empty to past the large threshold.
                var key = model.Count > 0 && random.Next(10) == 0 ? model[random.Next(model.Count)].Key : $"k-{random.Next(1_000_000)}-{step}";
                var size = random.Next(20) == 0 ? IdempotencyTable.LargeResult + random.Next(1, 5000) : random.Next(0, 300);
                var result = new byte[size];
                random.NextBytes(result);
                var name = random.Next(2) == 0 ? "cmd.a" : "cmd.b";
                table.Add(key, name, result, now);
                model.RemoveAll(entry => entry.Key == key);
                model.Add((key, name, result, now));
                if (model.Count > capacity)
                {
                    model.RemoveAt(0);
                }
            }
            else if (action < 72)
            {
                var cutoff = now - random.Next(0, 200);
                table.Expire(cutoff);

                // Expiry stops at the first entry that is still young: entries are in insertion order.
                while (model.Count > 0 && model[0].Created < cutoff)
                {
                    model.RemoveAt(0);
                }
            }
            else
            {
                var (key, name, result, _) = model.Count > 0 && random.Next(2) == 0 ? model[random.Next(model.Count)] : ($"missing-{step}", "", Array.Empty<byte>(), 0L);
                var found = table.TryGet(key, out var foundName, out var foundResult);
                found.Should().Be(name.Length > 0, $"step {step}: '{key}'");
                if (found)
                {
                    foundName.Should().Be(name);
                    foundResult.Should().Equal(result);
                }
            }

            table.Count.Should().Be(model.Count, $"step {step}");
        }

        var seen = new List<(string, string, byte[], long)>();
        table.ForEach(seen, static (list, key, name, created, result) => list.Add((key.ToString(), name, result.ToArray(), created)));
        seen.Select(entry => entry.Item1).Should().Equal(model.Select(entry => entry.Key), "ForEach visits the live entries oldest first");
        for (var i = 0; i < seen.Count; i++)
        {
            seen[i].Item3.Should().Equal(model[i].Result);
            seen[i].Item2.Should().Be(model[i].Name);
            seen[i].Item4.Should().Be(model[i].Created);
        }
    }

    [Fact]
    public void A_copy_is_independent_of_later_changes()
    {
        var table = new IdempotencyTable(10);
        table.Add("a", "cmd", [1, 2], 1);
        table.Add("b", "cmd", new byte[IdempotencyTable.LargeResult + 1], 2);
        var copy = table.CopyTo(null);
        table.Add("a", "cmd", [9], 3);
        table.Add("c", "cmd", [3], 4);

        var keys = new List<string>();
        copy.ForEach(keys, static (list, key, _, _, _) => list.Add(key.ToString()));
        keys.Should().Equal("a", "b");
        copy.TryGet("a", out _, out var a).Should().BeTrue();
        a.Should().Equal(1, 2);

        // Reusing the copy's arrays for the next snapshot.
        table.CopyTo(copy).Should().BeSameAs(copy);
        keys.Clear();
        copy.ForEach(keys, static (list, key, _, _, _) => list.Add(key.ToString()));
        keys.Should().Equal("b", "a", "c");
    }
}
