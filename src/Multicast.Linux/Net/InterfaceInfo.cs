using Multicast.Linux.Ring;

namespace Multicast.Linux.Net;

/// <summary>
/// Index, MTU and MAC of a network interface, read through ioctls in the calling thread's network namespace.
/// </summary>
public sealed record InterfaceInfo(string Name, int Index, int Mtu, ulong Mac, bool IsEthernet)
{
    public static unsafe InterfaceInfo Get(string name)
    {
        ShimException.Check(Shim.InterfaceGet(name, out ShimInterface info), "interface");
        ulong mac = 0;
        for (int i = 0; i < info.MacLength && i < 6; i++) mac = mac << 8 | info.Mac[i];
        return new InterfaceInfo(name, info.Index, info.Mtu, mac, info.MacLength == 6);
    }

    public static string FormatMac(ulong mac) =>
        string.Join(':', Enumerable.Range(0, 6).Select(i => ((byte)(mac >> (40 - 8 * i))).ToString("x2")));
}
