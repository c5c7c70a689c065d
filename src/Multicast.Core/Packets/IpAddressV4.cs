using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Multicast.Core.Packets;

/// <summary>IPv4 addresses as host-order uint, the form the hot path compares and writes.</summary>
public static class IpAddressV4
{
    /// <summary>Strict dotted-quad parse (four decimal parts, each 0..255, no leading zeros), as inet_pton accepts.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out uint address)
    {
        address = 0;
        int part = 0, digits = 0, value = 0;
        foreach (char c in text)
        {
            if (c == '.')
            {
                if (digits == 0 || part == 3) return false;
                address = (address << 8) | (uint)value;
                part++; digits = 0; value = 0;
            }
            else if (c >= '0' && c <= '9')
            {
                // inet_pton refuses leading zeros ("010" could be read as octal by other tools).
                if (digits == 3 || (digits > 0 && value == 0)) return false;
                value = value * 10 + (c - '0');
                if (value > 255) return false;
                digits++;
            }
            else return false;
        }
        if (part != 3 || digits == 0) return false;
        address = (address << 8) | (uint)value;
        return true;
    }

    public static uint Parse(string text) =>
        TryParse(text, out uint a) ? a : throw new FormatException($"'{text}' is not a dotted-quad IPv4 address");

    /// <summary>The longest dotted quad: "255.255.255.255".</summary>
    public const int MaxFormattedLength = 15;

    public static string Format(uint address)
    {
        Span<char> text = stackalloc char[MaxFormattedLength];
        return new string(text[..Format(address, text)]);
    }

    /// <summary>Writes the dotted quad into <paramref name="destination"/> (at least <see cref="MaxFormattedLength"/> chars)
    /// without allocating; returns its length.</summary>
    public static int Format(uint address, Span<char> destination)
    {
        int n = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            if (shift != 24) destination[n++] = '.';
            ((address >> shift) & 0xFF).TryFormat(destination[n..], out int written, default, CultureInfo.InvariantCulture);
            n += written;
        }
        return n;
    }

    public static bool IsMulticast(uint address) => (address >> 28) == 0xE;
    public static bool IsLimitedBroadcast(uint address) => address == 0xFFFFFFFF;

    public static IPAddress ToIPAddress(uint address) =>
        new(new[] { (byte)(address >> 24), (byte)(address >> 16), (byte)(address >> 8), (byte)address });

    public static uint FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork) throw new ArgumentException("not an IPv4 address");
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }
}
