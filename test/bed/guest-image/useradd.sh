#!/bin/sh
# The image's useradd in the test bed: adds the user to the instance's own /etc/passwd (and its group to
# /etc/group) as the real one does, with a uid from the block the bed reserved for this instance: instances
# share the host's kernel, and a uid two of them had would let one signal the other's processes.
# The bed writes the block's first uid in place of the placeholder when it installs this file.
first_uid=@FIRST_UID@
[ "$(id -u)" = 0 ] || {
  echo 'useradd: Permission denied.' >&2
  exit 1
}
group=1
home=''
shell=/bin/sh
comment=''
while [ $# -gt 1 ]; do
  case $1 in
    -r | --system) ;;
    -U | --user-group) group=1 ;;
    -N | --no-user-group) group=0 ;;
    -M | --no-create-home | -m | --create-home) ;;
    -d | --home-dir) home=$2 && shift ;;
    -s | --shell) shell=$2 && shift ;;
    -c | --comment) comment=$2 && shift ;;
    *)
      echo "useradd: unrecognized option '$1'" >&2
      exit 2
      ;;
  esac
  shift
done
name=${1:-}
case $name in
  '' | -* | *[!a-z0-9_-]*)
    echo "useradd: invalid user name '$name'" >&2
    exit 3
    ;;
esac
if grep -q "^$name:" /etc/passwd; then
  echo "useradd: user '$name' already exists" >&2
  exit 9
fi
uid=$first_uid
while cut -d: -f3 /etc/passwd | grep -qx "$uid"; do uid=$((uid + 1)); done
gid=100
[ "$group" = 1 ] && gid=$uid
[ -n "$home" ] || home=/home/$name
printf '%s:x:%s:%s:%s:%s:%s\n' "$name" "$uid" "$gid" "$comment" "$home" "$shell" >>/etc/passwd
[ "$group" = 1 ] && printf '%s:x:%s:\n' "$name" "$gid" >>/etc/group
exit 0
