using System.Buffers;
using System.Buffers.Binary;
using EdgeAgent.Protocol.Frames;
using MessagePack;

namespace EdgeAgent.Protocol.Tests.Frames;

/// <summary>The hand-written hot-frame encoder produces exactly what MessagePackWriter produces.</summary>
public sealed class FrameWriterEncodingTests
{
    private static readonly ulong[] Values = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, uint.MaxValue, (ulong)uint.MaxValue + 1, ulong.MaxValue];
    private static readonly uint[] Channels = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, uint.MaxValue];
    private static readonly int[] Lengths = [0, 1, 0xff, 0x100, 0xffff, 0x1_0000, 70_000];

    private static byte[] Reference(EnvelopeBody body) => Envelope.Frame(body);

    [Fact]
    public void Value_frames_match_messagepack_encoding()
    {
        foreach (var channel in Channels)
        {
            foreach (var value in Values)
            {
                SampleFrames.Encode(o => FrameWriter.WritePing(o, value)).Should().Equal(Reference((ref MessagePackWriter w) =>
                {
                    w.WriteArrayHeader(3);
                    w.Write((byte)FrameType.Ping);
                    w.Write(0u);
                    w.Write(value);
                }));
                SampleFrames.Encode(o => FrameWriter.WriteWindowUpdate(o, channel, (uint)Math.Min(value, uint.MaxValue))).Should().Equal(Reference((ref MessagePackWriter w) =>
                {
                    w.WriteArrayHeader(3);
                    w.Write((byte)FrameType.WindowUpdate);
                    w.Write(channel);
                    w.Write((ulong)(uint)Math.Min(value, uint.MaxValue));
                }));
            }

            SampleFrames.Encode(o => FrameWriter.WriteClose(o, channel)).Should().Equal(Reference((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(2);
                w.Write((byte)FrameType.Close);
                w.Write(channel);
            }));
        }
    }

    [Fact]
    public void Data_and_open_frames_match_messagepack_encoding()
    {
        foreach (var length in Lengths)
        {
            var payload = SampleFrames.Payload(length);
            foreach (var channel in Channels)
            {
                SampleFrames.Encode(o => FrameWriter.WriteData(o, channel, payload)).Should().Equal(Reference((ref MessagePackWriter w) =>
                {
                    w.WriteArrayHeader(3);
                    w.Write((byte)FrameType.Data);
                    w.Write(channel);
                    w.Write(payload);
                }));
                SampleFrames.Encode(o => FrameWriter.WriteOpen(o, channel, channel / 3, payload)).Should().Equal(Reference((ref MessagePackWriter w) =>
                {
                    w.WriteArrayHeader(4);
                    w.Write((byte)FrameType.Open);
                    w.Write(channel);
                    w.Write(channel / 3);
                    w.Write(payload);
                }));
            }
        }
    }

    [Fact]
    public void The_general_reader_and_the_fast_path_agree_on_non_canonical_encodings()
    {
        // A ping whose value uses a signed int encoding and a data frame with a trailing field
        // take the general path; both still parse.
        var signed = SampleFrames.ParseOne(Envelope.WithPrefix([0x93, 0x03, 0x00, 0xd0, 0x05]));
        signed.Value.Should().Be(5);
        var trailing = SampleFrames.ParseOne(Envelope.WithPrefix([0x94, 0x08, 0x01, 0xc4, 0x01, 0xaa, 0xc0]));
        trailing.Payload.ToArray().Should().Equal(0xaa);
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, 4);
        FluentActions.Invoking(() => SampleFrames.ParseOne([.. bytes.AsSpan(0, 4), 0x93, 0x08, 0x01, 0xc4, 0x05])).Should().Throw<ProtocolException>();
    }
}
