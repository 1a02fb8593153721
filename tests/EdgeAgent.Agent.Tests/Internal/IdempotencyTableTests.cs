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
        table.ForEach(seen, 0, table.NextSequence, static (list, key, name, created, result) =>
        {
            list.Add((key.ToString(), name, result.ToArray(), created));
            return true;
        }).Should().Be(table.NextSequence);
        seen.Select(entry => entry.Item1).Should().Equal(model.Select(entry => entry.Key), "ForEach visits the live entries oldest first");
        for (var i = 0; i < seen.Count; i++)
        {
            seen[i].Item3.Should().Equal(model[i].Result);
            seen[i].Item2.Should().Be(model[i].Name);
            seen[i].Item4.Should().Be(model[i].Created);
        }
    }

    [Fact]
    public void A_walk_in_chunks_sees_each_entry_numbered_before_its_end_once_unless_it_went_first()
    {
        var table = new IdempotencyTable(620);
        for (var i = 0; i < 600; i++)
        {
            table.Add($"k{i}", "cmd", [(byte)i], i);
        }

        var before = table.NextSequence;
        var seen = new List<string>();
        var gone = new HashSet<string>(); // replaced or evicted before the walk reached them
        long next = 0;
        var round = 0;
        while (next < before)
        {
            var taken = 0;
            next = table.ForEach(seen, next, before, (list, key, _, _, _) =>
            {
                list.Add(key.ToString());
                return ++taken < 3;
            });

            // Between chunks the table changes: five new keys per round (numbered past the walk's
            // end; past 620 entries the oldest are evicted, faster than the walk advances, and the
            // ring is rebuilt as it grows), and every tenth round a key is replaced.
            round++;
            for (var j = 0; j < 5; j++)
            {
                table.Add($"new{round}-{j}", "cmd", new byte[j == 0 && round % 7 == 0 ? IdempotencyTable.LargeResult + 1 : 40], 1000 + round);
            }

            if (round % 10 == 0)
            {
                var replaced = $"k{300 + round}";
                if (!seen.Contains(replaced))
                {
                    gone.Add(replaced);
                }

                table.Add(replaced, "cmd", [1], 2000 + round);
            }

            foreach (var key in Enumerable.Range(0, 600).Select(i => $"k{i}").Where(key => !seen.Contains(key) && !table.TryGet(key, out _, out _)))
            {
                gone.Add(key);
            }
        }

        var expected = Enumerable.Range(0, 600).Select(i => $"k{i}").Where(key => !gone.Contains(key)).ToList();
        seen.Should().Equal(expected, "every original entry still there when the walk reached it is seen once, in order, and nothing added after the walk started");
        gone.Should().NotBeEmpty("the test evicts and replaces entries ahead of the walk");
        seen.Count.Should().BeGreaterThan(100);
    }
}
