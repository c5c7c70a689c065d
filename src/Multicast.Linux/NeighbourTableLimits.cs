using System.Globalization;
using Multicast.Core.Tables;

namespace Multicast.Linux;

/// <summary>The host's neighbour-table limits (see <see cref="NeighbourBudget"/>).</summary>
public static class NeighbourTableLimits
{
    private const string Sysctls = "/proc/sys/net/ipv4/neigh/default/";

    /// <summary>gc_thresh2 and gc_thresh3; the kernel's defaults where they cannot be read (only the host's namespace has them).</summary>
    public static (int Soft, int Hard) Read() =>
        (ReadOr("gc_thresh2", NeighbourBudget.DefaultSoftLimit), ReadOr("gc_thresh3", NeighbourBudget.DefaultHardLimit));

    private static int ReadOr(string name, int fallback)
    {
        try { return int.Parse(File.ReadAllText(Sysctls + name).Trim(), CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException) { return fallback; }
    }
}
