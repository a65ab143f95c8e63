; Inno Setup 6 script for the Windows installer of Lattice Realtime Tray.
;
; Built by `python packaging/build.py windows` on Windows, which runs PyInstaller
; and then:  ISCC /DAppVersion=<pyproject version> /DBundleDir=<bundle> /DOutputDir=<dist>
; It cannot be built or tested on the Linux machine this project is developed on.
;
; Installs per user (no administrator rights) into %LOCALAPPDATA%\Programs, adds a
; Start-menu shortcut carrying the AppUserModelID the app sets for itself (so
; Windows shows its notifications under the app's name and icon), and offers an
; unchecked "start when I sign in" task. Uninstalling removes the program files,
; the shortcuts and the Run entry; settings and data under %APPDATA% and
; %LOCALAPPDATA% stay.

#ifndef AppVersion
  #error Pass the version from pyproject.toml: ISCC /DAppVersion=X.Y.Z
#endif
#ifndef BundleDir
  #define BundleDir "..\..\build\pyinstaller\dist\lattice-rt"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

#define AppName "Lattice Realtime Tray"
#define AppUserModelID "dev.lattice.rt-tray"
#define RunValue "LatticeRealtimeTray"
#define TrayExe "lattice-rt-tray.exe"

[Setup]
; AppId identifies the installation for upgrades and uninstall: never change it.
AppId={{D08C2DF1-66D5-43DA-B9CB-85FC54ED182A}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Lattice Realtime developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
; x64compatible needs Inno Setup 6.3 or later.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=lattice-rt-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\{#TrayExe}
UninstallDisplayName={#AppName}
; Close a running tray app before files are replaced or removed.
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "autostart"; Description: "Start {#AppName} when I sign in"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#TrayExe}"; WorkingDir: "{app}"; AppUserModelID: "{#AppUserModelID}"

[Registry]
; Start at login, per user, only when the task was chosen. The app's own
; "Start at login" setting writes and deletes the same value.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#RunValue}"; ValueData: """{app}\{#TrayExe}"""; Flags: uninsdeletevalue; Tasks: autostart
; Whoever wrote it (this installer or the app), uninstalling removes it.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "{#RunValue}"; Flags: uninsdeletevalue

[Run]
Filename: "{app}\{#TrayExe}"; Description: "Start {#AppName} now"; Flags: nowait postinstall skipifsilent
