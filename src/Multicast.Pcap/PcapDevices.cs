using System.Net.NetworkInformation;
using System.Net.Sockets;
using SharpPcap.LibPcap;

namespace Multicast.Pcap;

/// <summary>The capture device and the OS's view of the same interface (index, MAC, MTU).</summary>
public sealed record CaptureInterface(LibPcapLiveDevice Device, int Index, ulong Mac, int Mtu);

/// <summary>Finds pcap devices by the names users know: Linux interface names; on Windows the Npcap device name
/// (\Device\NPF_{GUID}), the GUID, or the connection's friendly name ("Ethernet").</summary>
public static class PcapDevices
{
    private const string NpfPrefix = @"\Device\NPF_";

    /// <summary>Looks the interface up in the calling thread's network namespace (fresh list, not SharpPcap's cache).</summary>
    public static CaptureInterface Find(string name)
    {
        NetworkInterface? nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n =>
            n.Name == name || n.Id == name || NpfPrefix + n.Id == name
            || string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase) && OperatingSystem.IsWindows());
        string pcapName = nic is not null && OperatingSystem.IsWindows() ? NpfPrefix + nic.Id : nic?.Name ?? name;
        LibPcapLiveDevice device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == pcapName)
            ?? throw new InvalidOperationException($"no capture device {name} (is {(OperatingSystem.IsWindows() ? "Npcap" : "libpcap")} installed, and are we privileged?)");
        if (nic is null) throw new InvalidOperationException($"interface {name} has no network interface entry");
        IPv4InterfaceProperties? v4 = nic.GetIPProperties().GetIPv4Properties();
        byte[] macBytes = nic.GetPhysicalAddress().GetAddressBytes();
        ulong mac = 0;
        foreach (byte b in macBytes) mac = mac << 8 | b;
        int mtu = v4?.Mtu > 0 ? v4.Mtu : 1500;
        return new CaptureInterface(device, v4?.Index ?? 0, macBytes.Length == 6 ? mac : 0, mtu);
    }

    /// <summary>
    /// Windows default: the up, non-loopback interface with an IPv4 default gateway (the VPC NIC), as a device name.
    /// </summary>
    public static string DefaultWindowsInterface()
    {
        foreach (NetworkInterface n in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (n.OperationalStatus != OperationalStatus.Up || n.NetworkInterfaceType == NetworkInterfaceType.Loopback) continue;
            if (n.GetIPProperties().GatewayAddresses.Any(g => g.Address.AddressFamily == AddressFamily.InterNetwork))
                return NpfPrefix + n.Id;
        }
        throw new InvalidOperationException("no interface with an IPv4 default gateway; pass --interface NAME");
    }
}
