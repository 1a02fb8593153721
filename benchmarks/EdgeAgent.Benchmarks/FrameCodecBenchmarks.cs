using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using MessagePack;

namespace EdgeAgent.Benchmarks;

/// <summary>
/// The hand-written frame codec against MessagePack's attribute-based serializer for equivalent
/// DTOs (the baseline of each category), so the ratio comes from one run. Everything writes into
/// one reusable buffer; decoding reads preencoded bytes.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FrameCodecBenchmarks
{
    private const int MaxFrameSize = 1024 * 1024;

    private readonly ReusableBufferWriter _output = new(256 * 1024);
    private readonly MessagePackSerializerOptions _options = MessagePackSerializerOptions.Standard;
    private byte[] _openPayload = [];
    private byte[] _data = [];
    private PingDto _pingDto = new();
    private OpenDto _openDto = new();
    private DataDto _dataDto = new();
    private byte[] _pingFrame = [];
    private byte[] _openFrame = [];
    private byte[] _dataFrame = [];
    private byte[] _pingDtoBytes = [];
    private byte[] _openDtoBytes = [];
    private byte[] _dataDtoBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        // The open frame of a command: an RPC request header of about 100 bytes.
        _openPayload = new RpcRequestHeader("containers.restart", "3f2b8c1e9d6a4b7c8e0f1a2b3c4d5e6f", 1_760_000_000_000, new byte[40]).Encode();
        _data = new byte[64 * 1024];
        new Random(1).NextBytes(_data);
        _pingDto = new PingDto { Type = (byte)FrameType.Ping, Channel = 0, Value = 123_456 };
        _openDto = new OpenDto { Type = (byte)FrameType.Open, Channel = 1001, Kind = 1, Payload = _openPayload };
        _dataDto = new DataDto { Type = (byte)FrameType.Data, Channel = 1001, Payload = _data };
        _pingFrame = Encode(o => FrameWriter.WritePing(o, 123_456));
        _openFrame = Encode(o => FrameWriter.WriteOpen(o, 1001, 1, _openPayload));
        _dataFrame = Encode(o => FrameWriter.WriteData(o, 1001, _data));
        _pingDtoBytes = MessagePackSerializer.Serialize(_pingDto, _options);
        _openDtoBytes = MessagePackSerializer.Serialize(_openDto, _options);
        _dataDtoBytes = MessagePackSerializer.Serialize(_dataDto, _options);
    }

    public int OpenPayloadLength => _openPayload.Length;

    private static byte[] Encode(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    // ---- ping

    [Benchmark(Baseline = true), BenchmarkCategory("Ping encode")]
    public int PingEncode_MessagePackDto()
    {
        _output.Reset();
        MessagePackSerializer.Serialize(_output, _pingDto, _options);
        return _output.WrittenSpan.Length;
    }

    [Benchmark, BenchmarkCategory("Ping encode")]
    public int PingEncode_FrameWriter()
    {
        _output.Reset();
        FrameWriter.WritePing(_output, 123_456);
        return _output.WrittenSpan.Length;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Ping decode")]
    public ulong PingDecode_MessagePackDto() => MessagePackSerializer.Deserialize<PingDto>(_pingDtoBytes, _options).Value;

    [Benchmark, BenchmarkCategory("Ping decode")]
    public ulong PingDecode_FrameReader()
    {
        var buffer = new ReadOnlySequence<byte>(_pingFrame);
        FrameReader.TryParse(ref buffer, MaxFrameSize, out var frame);
        return frame.Value;
    }

    // ---- open (small command frame)

    [Benchmark(Baseline = true), BenchmarkCategory("Open encode")]
    public int OpenEncode_MessagePackDto()
    {
        _output.Reset();
        MessagePackSerializer.Serialize(_output, _openDto, _options);
        return _output.WrittenSpan.Length;
    }

    [Benchmark, BenchmarkCategory("Open encode")]
    public int OpenEncode_FrameWriter()
    {
        _output.Reset();
        FrameWriter.WriteOpen(_output, 1001, 1, _openPayload);
        return _output.WrittenSpan.Length;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Open decode")]
    public int OpenDecode_MessagePackDto() => MessagePackSerializer.Deserialize<OpenDto>(_openDtoBytes, _options).Payload.Length;

    [Benchmark, BenchmarkCategory("Open decode")]
    public long OpenDecode_FrameReader()
    {
        var buffer = new ReadOnlySequence<byte>(_openFrame);
        FrameReader.TryParse(ref buffer, MaxFrameSize, out var frame);
        return frame.Payload.Length;
    }

    // ---- 64 KiB data

    [Benchmark(Baseline = true), BenchmarkCategory("Data 64 KiB encode")]
    public int DataEncode_MessagePackDto()
    {
        _output.Reset();
        MessagePackSerializer.Serialize(_output, _dataDto, _options);
        return _output.WrittenSpan.Length;
    }

    [Benchmark, BenchmarkCategory("Data 64 KiB encode")]
    public int DataEncode_FrameWriter()
    {
        _output.Reset();
        FrameWriter.WriteData(_output, 1001, _data);
        return _output.WrittenSpan.Length;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Data 64 KiB decode")]
    public int DataDecode_MessagePackDto() => MessagePackSerializer.Deserialize<DataDto>(_dataDtoBytes, _options).Payload.Length;

    [Benchmark, BenchmarkCategory("Data 64 KiB decode")]
    public long DataDecode_FrameReader()
    {
        var buffer = new ReadOnlySequence<byte>(_dataFrame);
        FrameReader.TryParse(ref buffer, MaxFrameSize, out var frame);
        return frame.Payload.Length;
    }
}

[MessagePackObject]
public sealed class PingDto
{
    [Key(0)]
    public byte Type { get; set; }

    [Key(1)]
    public uint Channel { get; set; }

    [Key(2)]
    public ulong Value { get; set; }
}

[MessagePackObject]
public sealed class OpenDto
{
    [Key(0)]
    public byte Type { get; set; }

    [Key(1)]
    public uint Channel { get; set; }

    [Key(2)]
    public uint Kind { get; set; }

    [Key(3)]
    public byte[] Payload { get; set; } = [];
}

[MessagePackObject]
public sealed class DataDto
{
    [Key(0)]
    public byte Type { get; set; }

    [Key(1)]
    public uint Channel { get; set; }

    [Key(2)]
    public byte[] Payload { get; set; } = [];
}
