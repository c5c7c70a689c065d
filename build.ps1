<#
.SYNOPSIS
  Builds, tests, publishes and installs the Windows server (service "udptopoint").
.DESCRIPTION
  .\build.ps1 build                 build the solution (Release)
  .\build.ps1 test                  run the test suite (Linux-only tests report themselves as ignored)
  .\build.ps1 publish               self-contained win-x64 folder in out\win-x64 (multicast.exe + .cmd launchers)
  .\build.ps1 install [-InstallDir C:\udptopoint] [-Interface "Ethernet"]
                                    (Administrator) publish, copy to the install directory, register and start the
                                    auto-start service "udptopoint"; an existing server_cfg.json.txt is kept
  .\build.ps1 uninstall             (Administrator) stop and delete the service; config and logs stay
  Needs the .NET 10 SDK; the service needs Npcap (https://npcap.com) installed.
#>
param(
    [Parameter(Position = 0)][ValidateSet('build', 'test', 'publish', 'install', 'uninstall')][string]$Command = 'publish',
    [string]$InstallDir = 'C:\udptopoint',
    [string]$Interface = ''
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$Out = Join-Path $PSScriptRoot 'out\win-x64'
$ServiceName = 'udptopoint'

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Assert-Administrator {
    $principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        throw "run this from an elevated PowerShell (Administrator)"
    }
}

function Publish {
    Invoke-Checked dotnet @('publish', 'src\Multicast.Cli\Multicast.Cli.csproj', '-c', 'Release', '-r', 'win-x64',
        '--self-contained', '-o', $Out, '--nologo')
    # Every tool is a mode of the one executable, as on Linux.
    foreach ($tool in 'multis_admin', 'server_reload_list') {
        Set-Content -Encoding ascii -Path (Join-Path $Out "$tool.cmd") -Value "@`"%~dp0multicast.exe`" --as $tool %*"
    }
    Write-Host "published: $Out\multicast.exe"
}

function Install {
    Assert-Administrator
    $npcap = Join-Path $env:SystemRoot 'System32\Npcap\wpcap.dll'
    if (-not (Test-Path $npcap) -and -not (Test-Path (Join-Path $env:SystemRoot 'System32\wpcap.dll'))) {
        Write-Warning "Npcap is not installed: install it from https://npcap.com before starting the service"
    }
    Publish
    if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) { Uninstall }
    New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
    Copy-Item -Recurse -Force -Path (Join-Path $Out '*') -Destination $InstallDir
    $config = Join-Path $InstallDir 'server_cfg.json.txt'
    if (-not (Test-Path $config)) { Set-Content -Encoding ascii -Path $config -Value '{ "multi_group_array": [] }' }
    # Config and logs live in the install directory unless it is the default one.
    $binPath = "`"$(Join-Path $InstallDir 'multicast.exe')`" udptopoint"
    if ($Interface) { $binPath += " --interface `"$Interface`"" }
    New-Service -Name $ServiceName -BinaryPathName $binPath -StartupType Automatic `
        -DisplayName 'udptopoint multicast proxy' -Description 'Forwards local multicast as unicast copies to the configured members' | Out-Null
    if ($InstallDir -ne 'C:\udptopoint') {
        # The service reads MULTICAST_CONFIG_DIR from its own environment block.
        $key = "HKLM:\SYSTEM\CurrentControlSet\Services\$ServiceName"
        New-ItemProperty -Path $key -Name Environment -PropertyType MultiString -Value @("MULTICAST_CONFIG_DIR=$InstallDir") -Force | Out-Null
    }
    # Restart after a crash: 5 s, then 30 s; the failure count resets after a day.
    Invoke-Checked sc.exe @('failure', $ServiceName, 'reset=', '86400', 'actions=', 'restart/5000/restart/30000//')
    Start-Service -Name $ServiceName
    Write-Host "service $ServiceName installed and started; config $config, log $(Join-Path $InstallDir 'server_log.txt')"
}

function Uninstall {
    Assert-Administrator
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if (-not $service) { Write-Host "service $ServiceName is not installed"; return }
    if ($service.Status -ne 'Stopped') { Stop-Service -Name $ServiceName -Force }
    Invoke-Checked sc.exe @('delete', $ServiceName)
    Write-Host "service $ServiceName removed (files in $InstallDir kept)"
}

switch ($Command) {
    'build' { Invoke-Checked dotnet @('build', 'Multicast.sln', '-c', 'Release', '--nologo') }
    'test' { Invoke-Checked dotnet @('test', 'tests\Multicast.Tests\Multicast.Tests.csproj', '-c', 'Release', '--nologo') }
    'publish' { Publish }
    'install' { Install }
    'uninstall' { Uninstall }
}
