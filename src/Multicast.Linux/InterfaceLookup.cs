using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Multicast.Core.Packets;
using Multicast.Core.Tables;

namespace Multicast.Linux;

/// <summary>Finds the interface to serve and its IPv4 address.</summary>
public static class InterfaceLookup
{
    /// <summary>
    /// The interface that routes 224.0.0.0/4, else the one of the default route (read from /proc/net/route, whose
    /// addresses are little-endian hex).
    /// </summary>
    public static string DefaultInterface(string routeTable = "/proc/net/route")
    {
        string? multicast = null, fallback = null;
        foreach (string line in File.ReadLines(routeTable).Skip(1))
        {
            string[] f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8) continue;
            uint dst = uint.Parse(f[1], NumberStyles.HexNumber), mask = uint.Parse(f[7], NumberStyles.HexNumber);
            if (dst == 0x000000E0 && mask == 0x000000F0) multicast ??= f[0];
            if (dst == 0 && mask == 0) fallback ??= f[0];
        }
        return multicast ?? fallback
               ?? throw new InvalidOperationException("no route for 224.0.0.0/4 and no default route; pass --interface IF");
    }

    public static uint Ipv4Address(string interfaceName)
    {
        NetworkInterface nic = Find(interfaceName) ?? throw new InvalidOperationException($"interface {interfaceName} does not exist");
        foreach (LocalSubnet s in Ipv4Subnets(nic)) return s.Address;
        throw new InvalidOperationException($"interface {interfaceName} has no IPv4 address");
    }

    /// <summary>The interface's IPv4 addresses with their prefixes; none when there is no such interface.</summary>
    public static List<LocalSubnet> Ipv4Subnets(string interfaceName) =>
        Find(interfaceName) is NetworkInterface nic ? Ipv4Subnets(nic).ToList() : [];

    public static bool Exists(string interfaceName) => IndexOf(interfaceName) != 0;

    /// <summary>The interface's index, 0 when there is none by that name (one if_nametoindex call, cheap to poll).</summary>
    public static int IndexOf(string interfaceName) => (int)Sockets.Libc.if_nametoindex(interfaceName);

    private static NetworkInterface? Find(string interfaceName) =>
        NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == interfaceName);

    private static IEnumerable<LocalSubnet> Ipv4Subnets(NetworkInterface nic)
    {
        foreach (UnicastIPAddressInformation a in nic.GetIPProperties().UnicastAddresses)
            if (a.Address.AddressFamily == AddressFamily.InterNetwork)
                yield return new LocalSubnet(IpAddressV4.FromIPAddress(a.Address), a.PrefixLength);
    }
}
