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
        LibPcapLiveDevice device = Devices().FirstOrDefault(d => d.Name == pcapName)
            ?? throw new InvalidOperationException($"no capture device {name} (is {(OperatingSystem.IsWindows() ? "Npcap" : "libpcap")} installed, and are we privileged?)");
        if (nic is null) throw new InvalidOperationException($"interface {name} has no network interface entry");
        byte[] macBytes = nic.GetPhysicalAddress().GetAddressBytes();
        ulong mac = 0;
        foreach (byte b in macBytes) mac = mac << 8 | b;
        // On Linux .NET reads the MTU from /sys/class/net, which shows the namespace sysfs was mounted in, not the
        // calling thread's: inside a test or container namespace it can be missing, so ask the kernel directly.
        int index = 0, mtu = 0;
        try
        {
            IPv4InterfaceProperties? v4 = nic.GetIPProperties().GetIPv4Properties();
            index = v4?.Index ?? 0;
            mtu = v4?.Mtu ?? 0;
        }
        catch (Exception e) when (e is NetworkInformationException or IOException or UnauthorizedAccessException or PlatformNotSupportedException) { }
        if (!OperatingSystem.IsWindows())
        {
            if (index <= 0) index = (int)LinuxInterface.Index(nic.Name);
            if (mtu <= 0) mtu = LinuxInterface.Mtu(nic.Name);
        }
        return new CaptureInterface(device, index, macBytes.Length == 6 ? mac : 0, mtu > 0 ? mtu : 1500);
    }

    private static LibPcapLiveDeviceList Devices()
    {
        try { return LibPcapLiveDeviceList.New(); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw new InvalidOperationException(OperatingSystem.IsWindows()
                ? "Npcap is not installed (wpcap.dll not found): install it from https://npcap.com"
                : "libpcap is not installed (libpcap.so.1 not found): apt-get install libpcap0.8");
        }
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

/// <summary>Index and MTU from the kernel (if_nametoindex, SIOCGIFMTU) in the calling thread's namespace.</summary>
internal static unsafe partial class LinuxInterface
{
    private const int SiocGifMtu = 0x8921;

    public static uint Index(string name) => if_nametoindex(name);

    public static int Mtu(string name)
    {
        int fd = socket(2, 2, 0); // AF_INET, SOCK_DGRAM
        if (fd < 0) return 0;
        try
        {
            byte* ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            int n = System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(ifreq, 15));
            return ioctl(fd, SiocGifMtu, ifreq) == 0 ? *(int*)(ifreq + 16) : 0;
        }
        finally { close(fd); }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);

    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial int socket(int domain, int type, int protocol);

    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial int ioctl(int fd, nuint request, byte* argument);

    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial int close(int fd);
}
