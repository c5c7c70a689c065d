using System.Runtime.InteropServices;

namespace Multicast.Cli.Tools;

/// <summary>
/// The per-datagram logs the traffic tools write (--latency-log, --lateness-log) and the bench reads: 64-bit
/// little-endian values (what every .NET platform writes), one per sequence number.
/// </summary>
public static class ToolLog
{
    /// <summary>Writes the whole log and flushes it: complete on disk before the tool's result line, which is what harnesses wait for.</summary>
    public static void Write(Stream log, ReadOnlySpan<long> values)
    {
        log.Write(MemoryMarshal.AsBytes(values));
        log.Flush();
    }

    /// <summary>A torn last value is ignored.</summary>
    public static long[] Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return MemoryMarshal.Cast<byte, long>(bytes.AsSpan(0, bytes.Length - bytes.Length % sizeof(long))).ToArray();
    }
}
