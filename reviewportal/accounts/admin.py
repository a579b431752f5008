from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewportal.accounts.models import User

admin.site.register(User, UserAdmin)

# django-otp registers its device models; their admin pages can show a TOTP secret as a QR code.
# Nobody needs that after enrolment: supervisors reset a second factor from /supervise/people.
for device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)
