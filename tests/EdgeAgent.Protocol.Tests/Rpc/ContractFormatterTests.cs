using System.Buffers;
using System.Reflection;
using EdgeAgent.Eng.ContractFormatterGenerator;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Rpc.Generated;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace EdgeAgent.Protocol.Tests.Rpc;

/// <summary>
/// The formatters generated for the contracts (Rpc/Generated/ContractFormatters.g.cs) against
/// MessagePack's own, made at run time by DynamicObjectResolver: same bytes, same objects.
/// </summary>
public sealed class ContractFormatterTests
{
    private static readonly Assembly Protocol = typeof(ContractSerializer).Assembly;

    /// <summary>MessagePack as the SDK used it before: every formatter made at run time.</summary>
    private static readonly MessagePackSerializerOptions Dynamic = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(ContractSerializer.MaxDepth));

    /// <summary>The generated formatters only: a type they miss fails instead of falling back.</summary>
    private static readonly MessagePackSerializerOptions Generated = new MessagePackSerializerOptions(GeneratedOnly.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(ContractSerializer.MaxDepth));

    public static TheoryData<string> Contracts()
    {
        var data = new TheoryData<string>();
        foreach (var type in ContractTypes())
        {
            data.Add(type.FullName!);
        }

        return data;
    }

    [Fact]
    public void The_contracts_are_found()
    {
        ContractTypes().Should().HaveCountGreaterThan(70);
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Every_contract_has_a_generated_formatter_that_the_serializer_uses(string name)
    {
        var type = Protocol.GetType(name, throwOnError: true)!;
        var formatter = ContractFormatters.Find(type);
        formatter.Should().NotBeNull();
        formatter!.GetType().Namespace.Should().Be(typeof(ContractFormatters).Namespace);
        formatter.Should().BeAssignableTo(typeof(IMessagePackFormatter<>).MakeGenericType(type));

        var resolved = typeof(IFormatterResolver).GetMethod(nameof(IFormatterResolver.GetFormatter))!
            .MakeGenericMethod(type).Invoke(ContractSerializer.Options.Resolver, null);
        resolved.Should().BeSameAs(formatter);
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void A_populated_contract_is_written_as_MessagePack_writes_it_and_read_back(string name)
    {
        var type = Protocol.GetType(name, throwOnError: true)!;
        var sample = Sample(type, seed: 1, depth: 0);

        var expected = MessagePackSerializer.Serialize(type, sample, Dynamic);
        var actual = MessagePackSerializer.Serialize(type, sample, Generated);
        actual.Should().Equal(expected, $"the generated formatter of {type.Name} must write what DynamicObjectResolver writes");

        var read = MessagePackSerializer.Deserialize(type, actual, Generated);
        ShouldBeEquivalent(read, sample);
        MessagePackSerializer.Serialize(type, read, Generated).Should().Equal(expected);

        // And through the serializer the SDK uses.
        var serialize = typeof(ContractSerializer).GetMethod(nameof(ContractSerializer.Serialize))!.MakeGenericMethod(type);
        ((byte[])serialize.Invoke(null, [sample])!).Should().Equal(expected);
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Null_members_are_written_as_MessagePack_writes_them(string name)
    {
        var type = Protocol.GetType(name, throwOnError: true)!;
        var sample = Activator.CreateInstance(type)!;
        foreach (var member in KeyMembers(type).Where(member => !member.PropertyType.IsValueType || Nullable.GetUnderlyingType(member.PropertyType) is not null))
        {
            member.SetValue(sample, null);
        }

        var expected = MessagePackSerializer.Serialize(type, sample, Dynamic);
        MessagePackSerializer.Serialize(type, sample, Generated).Should().Equal(expected);
        var read = MessagePackSerializer.Deserialize(type, expected, Generated);
        ShouldBeEquivalent(read, sample);
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Short_and_long_payloads_are_read_as_MessagePack_reads_them(string name)
    {
        var type = Protocol.GetType(name, throwOnError: true)!;
        var full = MessagePackSerializer.Serialize(type, Sample(type, seed: 3, depth: 0), Dynamic);

        // An older peer that sends fewer members: the missing ones keep their initial values.
        // A newer peer that sends more: the unknown ones are skipped.
        foreach (var payload in new[] { new byte[] { 0x90 }, Truncated(full), WithExtraMembers(full) })
        {
            var expected = MessagePackSerializer.Deserialize(type, payload, Dynamic);
            var actual = MessagePackSerializer.Deserialize(type, payload, Generated);
            ShouldBeEquivalent(actual, expected);
        }

        MessagePackSerializer.Deserialize(type, new byte[] { 0xc0 }, Generated).Should().BeNull();
    }

    [Fact]
    public void A_wrongly_typed_member_fails_with_invalid_argument()
    {
        // [Key(0)] of ContainerRef is a string; an integer there is not a valid ContainerRef.
        var act = () => ContractSerializer.Deserialize<ContainerRef>(new byte[] { 0x91, 0x05 });
        act.Should().Throw<EdgeCommandException>()
            .Where(ex => ex.Code == EdgeErrorCodes.InvalidArgument && ex.Message == "The payload is not a valid ContainerRef.")
            .WithInnerException<MessagePackSerializationException>();
    }

    [Fact]
    public void The_generated_file_is_up_to_date()
    {
        var path = Path.Combine(RepositoryRoot(), FormatterSourceGenerator.RelativeOutputPath);
        var committed = File.ReadAllText(path).ReplaceLineEndings("\n");
        var current = FormatterSourceGenerator.Generate(Protocol);
        committed.Should().Be(current,
            $"{FormatterSourceGenerator.RelativeOutputPath} must match the contracts; run `{FormatterSourceGenerator.Command}` from the repository root and commit the result");
    }

    [Fact]
    public void An_added_resolver_serves_types_the_SDK_does_not_know()
    {
        EdgeContractSerializer.AddResolver(CustomResolver.Instance);
        EdgeContractSerializer.AddResolver(CustomResolver.Instance);
        EdgeContractSerializer.Resolvers.Should().ContainSingle(resolver => resolver == CustomResolver.Instance);

        var bytes = ContractSerializer.Serialize(new CustomPayload(42));
        bytes.Should().Equal(0x2a);
        ContractSerializer.Deserialize<CustomPayload>(bytes).Value.Should().Be(42);
    }

    private static void ShouldBeEquivalent(object? actual, object? expected)
    {
        actual.Should().NotBeNull().And.BeOfType(expected!.GetType());
        if (KeyMembers(expected.GetType()).Any())
        {
            actual.Should().BeEquivalentTo(expected, options => options.RespectingRuntimeTypes().ComparingRecordsByMembers().WithStrictOrdering());
        }
    }

    private static IEnumerable<Type> ContractTypes() =>
        Protocol.GetTypes().Where(type => type.IsDefined(typeof(MessagePackObjectAttribute), inherit: false)).OrderBy(type => type.FullName, StringComparer.Ordinal);

    private static IEnumerable<PropertyInfo> KeyMembers(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(property => property.IsDefined(typeof(KeyAttribute)));

    /// <summary>An instance whose every member differs from its default and its initial value.</summary>
    private static object Sample(Type type, int seed, int depth)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var member in KeyMembers(type))
        {
            var key = member.GetCustomAttribute<KeyAttribute>()!.IntKey!.Value;
            var initial = member.GetValue(instance);
            var value = Value(member.PropertyType, seed * 100 + key, depth);
            if (Equals(value, initial))
            {
                value = Value(member.PropertyType, seed * 100 + key + 1, depth);
            }

            member.SetValue(instance, value);
        }

        return instance;
    }

    private static object Value(Type type, int seed, int depth)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Value(underlying, seed, depth);
        }

        if (type.IsEnum)
        {
            var values = Enum.GetValues(type);
            return values.GetValue(seed % values.Length)!;
        }

        if (type.IsDefined(typeof(MessagePackObjectAttribute), inherit: false))
        {
            return Sample(type, seed + 1, depth + 1);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var element = type.GetGenericArguments()[0];
            var list = Array.CreateInstance(element, depth > 2 ? 1 : 2);
            for (var i = 0; i < list.Length; i++)
            {
                list.SetValue(Value(element, seed + i + 1, depth + 1), i);
            }

            return list;
        }

        if (type == typeof(IReadOnlyDictionary<string, string>))
        {
            return new Dictionary<string, string> { [$"key-{seed}"] = $"value-{seed}", ["empty"] = "" };
        }

        return type switch
        {
            _ when type == typeof(string) => $"text-{seed}-é",
            _ when type == typeof(bool) => seed % 2 == 0,
            _ when type == typeof(int) => 70_000 + seed,
            _ when type == typeof(long) => (1L << 40) + seed,
            _ when type == typeof(double) => 0.25 + seed,
            _ when type == typeof(byte[]) => new byte[] { 1, 2, (byte)seed, 255 },
            _ when type == typeof(DateTimeOffset) => new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(seed * 1_234_567L),
            _ => throw new NotSupportedException($"No sample for {type}: extend ContractFormatterTests.Value."),
        };
    }

    /// <summary>The payload's array without its last member.</summary>
    private static byte[] Truncated(byte[] payload) => Rewrite(payload, (count, members) => (count - 1, members.Take(Math.Max(0, count - 1)).ToList()));

    /// <summary>The payload's array with two more members, one of them nested.</summary>
    private static byte[] WithExtraMembers(byte[] payload) => Rewrite(payload, (count, members) =>
    {
        var writer = new ArrayBufferWriter<byte>();
        var extra = new MessagePackWriter(writer);
        extra.Write("future member");
        extra.WriteArrayHeader(2);
        extra.Write(1);
        extra.WriteMapHeader(1);
        extra.Write("a");
        extra.Write("b");
        extra.Flush();
        return (count + 2, [.. members, writer.WrittenSpan.ToArray()]);
    });

    private static byte[] Rewrite(byte[] payload, Func<int, List<byte[]>, (int Count, List<byte[]> Members)> change)
    {
        var reader = new MessagePackReader(payload);
        var count = reader.ReadArrayHeader();
        var members = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            members.Add(reader.ReadRaw().ToArray());
        }

        var (newCount, newMembers) = change(count, members);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(Math.Max(0, newCount));
        foreach (var member in newMembers)
        {
            writer.WriteRaw(member);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EdgeAgent.Sdk.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (EdgeAgent.Sdk.sln) is not above the test's directory.");
    }

    private sealed class GeneratedOnly : IFormatterResolver
    {
        public static readonly GeneratedOnly Instance = new();

        public IMessagePackFormatter<T>? GetFormatter<T>() => (IMessagePackFormatter<T>?)ContractFormatters.Find(typeof(T));
    }

    public sealed record CustomPayload(int Value);

    private sealed class CustomResolver : IFormatterResolver, IMessagePackFormatter<CustomPayload?>
    {
        public static readonly CustomResolver Instance = new();

        public IMessagePackFormatter<T>? GetFormatter<T>() => typeof(T) == typeof(CustomPayload) ? (IMessagePackFormatter<T>)(object)this : null;

        public void Serialize(ref MessagePackWriter writer, CustomPayload? value, MessagePackSerializerOptions options) => writer.Write(value!.Value);

        public CustomPayload? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) => new(reader.ReadInt32());
    }
}
