using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Multicast.Core.Packets;

/// <summary>RFC 1071 one's-complement sums, kept unfolded (as uint/ulong) until the caller folds once.</summary>
public static class InternetChecksum
{
    /// <summary>Sum of the big-endian 16-bit words of <paramref name="data"/> (odd tail padded with zero), unfolded.</summary>
    public static ulong Sum(ReadOnlySpan<byte> data, ulong initial = 0)
    {
        ulong sum = initial;
        // Eight bytes at a time: big-endian 16-bit words summed in a 64-bit accumulator are the same modulo 0xFFFF
        // whether we add words or 32-bit halves, so add 32-bit big-endian halves and fold at the end.
        while (data.Length >= 8)
        {
            ulong v = BinaryPrimitives.ReadUInt64BigEndian(data);
            sum += (v >> 32) + (v & 0xFFFFFFFF);
            data = data[8..];
        }
        if (data.Length >= 4)
        {
            sum += BinaryPrimitives.ReadUInt32BigEndian(data);
            data = data[4..];
        }
        if (data.Length >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data);
            data = data[2..];
        }
        if (data.Length == 1) sum += (uint)data[0] << 8;
        return sum;
    }

    /// <summary>Folds a 64-bit accumulator to 16 bits (not complemented).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The checksum field value for data whose unfolded sum is <paramref name="sum"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>Sum contributed by a 32-bit value (an IPv4 address) in host order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint SumOf(uint value) => (value >> 16) + (value & 0xFFFF);

    /// <summary>
    /// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Used when one field of a checksummed region changes.
    /// <paramref name="oldValueSum"/> and <paramref name="newValueSum"/> are unfolded sums of the old and new field.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update(ushort checksum, uint oldValueSum, uint newValueSum)
    {
        ulong sum = (ushort)~checksum;
        sum += (ushort)~Fold(oldValueSum);
        sum += Fold(newValueSum);
        return (ushort)~Fold(sum);
    }
}
