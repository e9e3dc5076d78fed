"""Routes: reference. (Filled in by its issue.)"""

from fastapi import APIRouter

router = APIRouter()
