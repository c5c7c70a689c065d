using System.Buffers.Binary;

namespace Multicast.Cli.Tools;

public enum PayloadCheck { Ok, Foreign, Corrupt }

/// <summary>
/// Test datagram layout: magic "MCT1", total length, sequence, send time (CLOCK_REALTIME ns), then filler that is a
/// pure function of the sequence number. A receiver can therefore prove a datagram is byte-identical to what was sent
/// without any side channel, and tell truncation (length field) from corruption (filler).
/// </summary>
public static class Payload
{
    public const uint Magic = 0x4D435431; // "MCT1"
    public const int HeaderLength = 24;
    public const int MaxLength = 65507; // largest UDP payload over IPv4

    public static void Write(Span<byte> buffer, ulong sequence, long sendTimeNs)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], (uint)buffer.Length);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(buffer[16..], sendTimeNs);
        Fill(buffer[HeaderLength..], sequence);
    }

    /// <summary>Rewrites only the timestamp, so a sender can prepare the filler before it is due.</summary>
    public static void Stamp(Span<byte> buffer, long sendTimeNs) => BinaryPrimitives.WriteInt64BigEndian(buffer[16..], sendTimeNs);

    public static PayloadCheck Check(ReadOnlySpan<byte> datagram, Span<byte> scratch, out ulong sequence, out long sendTimeNs)
    {
        sequence = 0;
        sendTimeNs = 0;
        if (datagram.Length < HeaderLength || BinaryPrimitives.ReadUInt32BigEndian(datagram) != Magic) return PayloadCheck.Foreign;
        sequence = BinaryPrimitives.ReadUInt64BigEndian(datagram[8..]);
        sendTimeNs = BinaryPrimitives.ReadInt64BigEndian(datagram[16..]);
        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != (uint)datagram.Length) return PayloadCheck.Corrupt;
        Span<byte> expected = scratch[..(datagram.Length - HeaderLength)];
        Fill(expected, sequence);
        return expected.SequenceEqual(datagram[HeaderLength..]) ? PayloadCheck.Ok : PayloadCheck.Corrupt;
    }

    /// <summary>xorshift64* keyed by the sequence: cheap, and a single flipped or shifted byte changes the comparison.</summary>
    public static void Fill(Span<byte> filler, ulong sequence)
    {
        ulong x = (sequence + 1) * 0x9E3779B97F4A7C15UL;
        while (filler.Length >= 8)
        {
            x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
            BinaryPrimitives.WriteUInt64LittleEndian(filler, x * 0x2545F4914F6CDD1DUL);
            filler = filler[8..];
        }
        if (filler.Length > 0)
        {
            x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
            ulong v = x * 0x2545F4914F6CDD1DUL;
            for (int i = 0; i < filler.Length; i++) filler[i] = (byte)(v >> (8 * i));
        }
    }
}
